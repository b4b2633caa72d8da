module github.com/gatehousehq/gatehouse

go 1.26.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	golang.org/x/sync v0.24.0
)

require github.com/go-json-experiment/json v1.27.2
