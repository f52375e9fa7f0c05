package mfa

import (
	"fmt"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrQuiet is the quiet zone around a QR code, in modules (ISO/IEC 18004 asks for 4).
const qrQuiet = 4

// QRSVG renders text as a QR code in SVG, on the server: no image service
// sees the TOTP secret, and the page needs no data: URL or script (its
// Content-Security-Policy allows neither). The markup is built here from
// numbers only (the code's modules), so a page may embed it as it is.
func QRSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("mfa: qr code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	size := n + 2*qrQuiet
	var path strings.Builder
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA(); r == 0 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			}
		}
	}
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="QR code for your authenticator app" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`, size, size, size*5, size*5, size, size, path.String())
	return svg, nil
}
