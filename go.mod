module tcpedges

go 1.26.0

require (
	github.com/gopacket/gopacket v1.7.7
	github.com/rogpeppe/go-internal v1.16.0
	github.com/vishvananda/netlink v1.3.1
	golang.org/x/net v0.55.0
	golang.org/x/sys v0.49.0
	golang.org/x/tools v0.26.0
)

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/vishvananda/netns v0.0.5
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
