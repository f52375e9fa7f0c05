# Every curl of the public API guide, as the guide writes it (host and
# placeholders included). guide_curls_test.go swaps the host and the
# placeholders for a running server's, runs each block with bash, and
# checks the status and shape the guide documents. Blocks are separated by
# lines starting with "### ".

### Using API Keys
curl -X GET https://api-puguh.arsaka.io/api/v1/organizations \
  -H "X-API-Key: YOUR_API_KEY" \
  -H "X-Organization-ID: YOUR_ORGANIZATION_ID"

### Login
curl -X POST https://api-puguh.arsaka.io/api/v1/auth/login \
  -H "Content-Type: application/json" \
  -d '{
    "email": "user@example.com",
    "password": "your_password"
  }'

### JWKS
curl -X GET https://api-puguh.arsaka.io/.well-known/jwks.json

### Register
curl -X POST https://api-puguh.arsaka.io/api/v1/auth/register \
  -H "Content-Type: application/json" \
  -d '{
    "email": "newuser@example.com",
    "password": "secure_password",
    "full_name": "Jane Doe"
  }'

### Using JWT Tokens
curl -X GET https://api-puguh.arsaka.io/api/v1/organizations \
  -H "Authorization: Bearer eyJhbGciOiJSUzI1NiIs..."

### Refreshing Tokens
curl -X POST https://api-puguh.arsaka.io/api/v1/auth/refresh \
  -H "Content-Type: application/json" \
  -d '{
    "refresh_token": "dGhpcyBpcyBhIHJlZnJl..."
  }'

### Logout
    curl -X POST https://api-puguh.arsaka.io/api/v1/auth/logout \
      -H "Authorization: Bearer YOUR_TOKEN"

### Test API Key
curl -X GET https://api-puguh.arsaka.io/api/v1/health \
  -H "X-API-Key: YOUR_API_KEY" \
  -H "X-Organization-ID: YOUR_ORGANIZATION_ID"

### Test JWT Token
# 1. Login to get a token
TOKEN=$(curl -s -X POST https://api-puguh.arsaka.io/api/v1/auth/login \
  -H "Content-Type: application/json" \
  -d '{"email": "user@example.com", "password": "your_password"}' \
  | jq -r '.access_token')

# 2. Use the token
curl -X GET https://api-puguh.arsaka.io/api/v1/iam/users \
  -H "Authorization: Bearer $TOKEN"

### Exchange Code for Token
curl -X POST https://api-puguh.arsaka.io/oauth/token \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -d "grant_type=authorization_code" \
  -d "code=AUTHORIZATION_CODE" \
  -d "client_id=YOUR_CLIENT_ID" \
  -d "client_secret=YOUR_CLIENT_SECRET" \
  -d "redirect_uri=YOUR_REDIRECT_URI"
