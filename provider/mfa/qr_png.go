package mfa

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// QRPNGDataURI renders text as a QR code in a PNG, as a data: URI, for API
// clients that show it in an image element. Like QRSVG it is drawn here,
// so no image service sees the secret.
func QRPNGDataURI(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("mfa: qr code: %w", err)
	}
	n := code.Bounds().Dx()
	// Five pixels a module, and the quiet zone drawn by the scaler's margin.
	size := (n + 2*qrQuiet) * 5
	scaled, err := barcode.Scale(code, size-2*qrQuiet*5, size-2*qrQuiet*5)
	if err != nil {
		return "", fmt.Errorf("mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, withQuietZone(scaled, qrQuiet*5)); err != nil {
		return "", fmt.Errorf("mfa: qr code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// withQuietZone puts img on a white square margin pixels wider on each side
// (ISO/IEC 18004's quiet zone), in grey levels.
func withQuietZone(img image.Image, margin int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()+2*margin, b.Dy()+2*margin))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(margin, margin, margin+b.Dx(), margin+b.Dy()), img, b.Min, draw.Src)
	return out
}
