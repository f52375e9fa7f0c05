package deploy

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// startDNS serves name's A records over UDP on loopback, as Docker's
// embedded DNS server answers a service name with every replica's address,
// and returns its address. Every other question gets NXDOMAIN; an AAAA
// question about name gets no answer.
func startDNS(t *testing.T, name string, addrs []string) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var records []dnsmessage.AResource
	for _, a := range addrs {
		records = append(records, dnsmessage.AResource{A: netip.MustParseAddr(a).As4()})
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if reply, ok := answerDNS(buf[:n], name, records); ok {
				conn.WriteTo(reply, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

func answerDNS(query []byte, name string, records []dnsmessage.AResource) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	resp := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	known := strings.EqualFold(q.Name.String(), name)
	if !known {
		resp.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, resp)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if known && q.Type == dnsmessage.TypeA {
		for _, r := range records {
			if b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, r) != nil {
				return nil, false
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
