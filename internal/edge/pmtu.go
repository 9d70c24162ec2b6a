package edge

// SetMTU sets the MTU of the host's interface name: the largest IP
// packet it sends.
func (h *Host) SetMTU(name string, mtu int) {
	link, err := h.nl.LinkByName(name)
	Check(err, h.Name+": find "+name)
	Check(h.nl.LinkSetMTU(link, mtu), h.Name+": set the MTU of "+name)
}

// OneSegmentPerPacket makes TCP in the host hand the interface name one
// segment per packet, as a real wire carries them. A veth offers
// segmentation offload (GSO): TCP then builds packets of several
// segments, which the capture would show as one segment bigger than
// the MSS, cut into segments only later, on the way. With at most one
// segment per GSO packet (IFLA_GSO_MAX_SEGS, the socket's
// sk_gso_max_segs), every packet is a segment.
func (h *Host) OneSegmentPerPacket(name string) {
	link, err := h.nl.LinkByName(name)
	Check(err, h.Name+": find "+name)
	Check(h.nl.LinkSetGSOMaxSegs(link, 1), h.Name+": set gso_max_segs of "+name)
}
