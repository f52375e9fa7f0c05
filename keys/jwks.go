package keys

// JWKSDocument is the published key set as served at
// /.well-known/jwks.json: the body (public members only, RFC 7517 §5), its
// strong ETag, and a Cache-Control max-age of JWKSMaxAge, shorter than
// PrePublish, so a cached copy always holds the next key before it signs.
// All three are computed when the keys are (re)loaded; serving them touches
// neither the database nor the JSON encoder.
type JWKSDocument struct {
	Body         []byte
	ETag         string
	CacheControl string
}

// JWKS returns the key set to publish now.
func (m *Manager) JWKS() JWKSDocument {
	set := m.set.Load()
	return JWKSDocument{Body: set.jwks, ETag: set.etag, CacheControl: set.cacheControl}
}
