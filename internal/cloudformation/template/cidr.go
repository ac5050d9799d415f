package template

import (
	"math/big"
	"net/netip"
)

// cidrSubnets is Fn::Cidr: count consecutive blocks with hostBits host bits
// each, from the start of ipBlock. IPv4 and IPv6 alike.
func cidrSubnets(ipBlock string, count, hostBits int) ([]string, error) {
	prefix, err := netip.ParsePrefix(ipBlock)
	if err != nil {
		return nil, invalid("Template error: Fn::Cidr ipBlock must be a valid CIDR block") // UNVERIFIED
	}
	prefix = prefix.Masked()
	totalBits := prefix.Addr().BitLen()
	newLength := totalBits - hostBits
	if count < 1 || count > 256 || hostBits < 0 || newLength < prefix.Bits() {
		return nil, invalid("Template error: Fn::Cidr count must be between 1 and 256 and cidrBits must fit inside the ipBlock") // UNVERIFIED
	}
	if big.NewInt(int64(count)).Cmp(new(big.Int).Lsh(big.NewInt(1), uint(newLength-prefix.Bits()))) > 0 {
		return nil, invalid("Template error: Fn::Cidr ipBlock has no room for that many subnets") // UNVERIFIED
	}
	start := new(big.Int).SetBytes(prefix.Addr().AsSlice())
	step := new(big.Int).Lsh(big.NewInt(1), uint(hostBits))
	blocks := make([]string, count)
	for i := range blocks {
		buf := make([]byte, totalBits/8)
		start.FillBytes(buf)
		addr, _ := netip.AddrFromSlice(buf)
		blocks[i] = netip.PrefixFrom(addr, newLength).String()
		start.Add(start, step)
	}
	return blocks, nil
}
