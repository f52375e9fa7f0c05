package jws

// base64url without padding (RFC 4648 §5, RFC 7515 §2), decoding from a
// string into a caller's buffer without allocating. Strict: only the URL-safe
// alphabet, no padding, no line breaks, and the unused low bits of the last
// character must be zero (so every value has one encoding), exactly as
// base64.RawURLEncoding.Strict() (FuzzBase64 compares the two).

var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// decodedLen is the decoded size of n characters, or -1 when no encoding has
// that length.
func decodedLen(n int) int {
	if n%4 == 1 {
		return -1
	}
	return n/4*3 + (n%4*6)/8
}

// decode fills dst, which is decodedLen(len(src)) long, from src.
func decode(dst []byte, src string) bool {
	if len(dst) != decodedLen(len(src)) {
		return false
	}
	di := 0
	i := 0
	for ; i+4 <= len(src); i += 4 {
		a, b, c, d := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]], decodeMap[src[i+3]]
		if a|b|c|d == 0xff || (a|b|c|d)&0xc0 != 0 {
			return false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[di], dst[di+1], dst[di+2] = byte(v>>16), byte(v>>8), byte(v)
		di += 3
	}
	switch len(src) - i {
	case 2:
		a, b := decodeMap[src[i]], decodeMap[src[i+1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 {
			return false
		}
		dst[di] = a<<2 | b>>4
	case 3:
		a, b, c := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 {
			return false
		}
		v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst[di], dst[di+1] = byte(v>>10), byte(v>>2)
	}
	return true
}
