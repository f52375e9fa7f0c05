module github.com/arsaka/puguh/sdk/go

go 1.24.0

require (
	github.com/go-jose/go-jose/v4 v4.1.9
	golang.org/x/oauth2 v0.35.0
)
