package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxKeyFileBytes bounds the size of a key file read by [Load].
const MaxKeyFileBytes = 1 << 20

// Parse decodes key material in any of the forms gatehouse accepts: a JWK
// (public or private, oct for HS256), a JWK Set of such keys, or PEM blocks
// (PKCS#8, SEC 1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" and "RSA PUBLIC
// KEY", PKIX "PUBLIC KEY", "CERTIFICATE"). For PEM, [WithAlgorithm] picks
// PS256 over the RS256 default for RSA keys and [WithID] sets the kid of a
// single key.
func Parse(data []byte, opts ...KeyOption) ([]*Key, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		return ParsePEM(trimmed, opts...)
	case bytes.HasPrefix(trimmed, []byte("{")):
		if len(opts) > 0 {
			return nil, errors.New("keys: a JWK carries its own kid and alg; options apply to PEM only")
		}
		// A JWK Set is the object with a "keys" member (RFC 7517 §5); a JWK
		// may hold the string "keys" elsewhere, as its kid.
		var probe struct {
			Keys jsontext.Value `json:"keys"`
		}
		if strictUnmarshal(trimmed, &probe) == nil && probe.Keys != nil {
			ks, err := parseSet(trimmed, true)
			if err == nil && len(ks) == 0 {
				err = errors.New("keys: JWKS holds no usable signing key")
			}
			return ks, err
		}
		k, err := ParseJWK(trimmed)
		if err != nil {
			return nil, err
		}
		return []*Key{k}, nil
	default:
		return nil, errors.New("keys: not a JWK, JWKS or PEM document")
	}
}

// ParsePEM decodes every PEM block of data into a key. Ed25519 keys are EdDSA,
// P-256 keys ES256, RSA keys RS256 unless [WithAlgorithm] says PS256.
func ParsePEM(data []byte, opts ...KeyOption) ([]*Key, error) {
	o, err := collect(opts)
	if err != nil {
		return nil, err
	}
	var out []*Key
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		material, err := parsePEMBlock(block)
		if err != nil {
			return nil, err
		}
		alg := o.alg
		if alg == "" {
			alg = algorithmFor(material)
		}
		k, err := newKey(alg, material, o.id)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("keys: no PEM block found")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("keys: data after the last PEM block")
	}
	if o.id != "" && len(out) > 1 {
		return nil, errors.New("keys: WithID needs exactly one PEM block")
	}
	return out, nil
}

func parsePEMBlock(b *pem.Block) (any, error) {
	var (
		material any
		err      error
	)
	switch b.Type {
	case "PRIVATE KEY":
		material, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		material, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		material, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PUBLIC KEY":
		material, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		material, err = x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(b.Bytes)
		if err == nil {
			material = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("keys: unsupported PEM block %q", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: PEM block %q: %w", b.Type, err)
	}
	return material, nil
}

// algorithmFor picks the algorithm by the type of the material alone, so
// that newKey reports what is wrong with it (a weak RSA key, another curve).
func algorithmFor(material any) Algorithm {
	switch material.(type) {
	case ed25519.PrivateKey, ed25519.PublicKey:
		return EdDSA
	case *rsa.PrivateKey, *rsa.PublicKey:
		return RS256
	}
	return ES256
}

// Load reads a key file (JWK, JWKS or PEM; see [Parse]).
func Load(path string, opts ...KeyOption) ([]*Key, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	ks, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// LoadKey reads a file that must hold exactly one key.
func LoadKey(path string, opts ...KeyOption) (*Key, error) {
	ks, err := Load(path, opts...)
	if err != nil {
		return nil, err
	}
	if len(ks) != 1 {
		return nil, fmt.Errorf("%s: holds %d keys, want exactly one", path, len(ks))
	}
	return ks[0], nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(data) > MaxKeyFileBytes {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes; is it a key file?", path, MaxKeyFileBytes)
	}
	return data, nil
}

// Save writes k with its private part as a JWK to path, with mode 0600. It
// refuses to overwrite an existing file; use [Replace] for that. The file is
// written to a temporary name, synced and renamed, so a crash never leaves a
// half-written key.
func Save(path string, k *Key) error { return write(path, k, false) }

// Replace is [Save] that atomically replaces an existing file.
func Replace(path string, k *Key) error { return write(path, k, true) }

func write(path string, k *Key, replace bool) error {
	data, err := k.PrivateJWK()
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("keys: %s: %w: choose another path or remove it first", path, fs.ErrExist)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keys: save key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: save key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: save key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: save key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keys: save key: %w", err)
	}
	if !replace {
		// Link fails if path appeared meanwhile: never clobber a key.
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("keys: save key: %w", err)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keys: save key: %w", err)
	}
	return nil
}
