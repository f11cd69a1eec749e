package jwt

import (
	"errors"
	"time"
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat, as upstream (go-jose's
// default leeway).
const DefaultLeeway = time.Minute

// Errors of ValidateTime.
var (
	ErrExpired           = errors.New("token is expired (exp)")
	ErrNotValidYet       = errors.New("token not valid yet (nbf)")
	ErrIssuedInTheFuture = errors.New("token issued in the future (iat)")
)

// NumericDate is a JWT time: seconds since the epoch.
type NumericDate int64

// NewNumericDate is t in whole seconds.
func NewNumericDate(t time.Time) *NumericDate {
	d := NumericDate(t.Unix())
	return &d
}

// Time is d as a time.Time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0) }

// TimeClaims are the registered claims that bound a token's validity.
type TimeClaims struct {
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
}

// ValidateTime checks the claims against now with leeway either side: not before nbf, not
// after exp, and not issued in the future. Missing claims pass.
func ValidateTime(c TimeClaims, now time.Time, leeway time.Duration) error {
	if c.NotBefore != nil && now.Add(leeway).Before(c.NotBefore.Time()) {
		return ErrNotValidYet
	}
	if c.Expiry != nil && now.Add(-leeway).After(c.Expiry.Time()) {
		return ErrExpired
	}
	if c.IssuedAt != nil && now.Add(leeway).Before(c.IssuedAt.Time()) {
		return ErrIssuedInTheFuture
	}
	return nil
}
