// Package nftexport exports ctmatch's translated rules to the expression
// types of github.com/google/nftables (v0.3.0), for Go programs that already
// build their rulesets with that library. It is part of ctmatch's public API,
// next to the module root (translation) and package firewall (ctmatch's own
// kernel client):
//
//	r, err := ctmatch.Translate("-m conntrack --ctstate NEW -j ACCEPT", ctmatch.Options{})
//	…
//	exprs, err := nftexport.Exprs(r)      // [][]nftexpr.Any, one per nft rule
//	rules, err := nftexport.AddTo(r, conn, chain) // queued on a *nftables.Conn
//
// v0.3.0 encodes some ct keys wrongly; a rule that uses one fails with an
// *Error that names the option, says what v0.3.0 gets wrong, and hints at
// ctmatch's own loader, which encodes every key.
//
// This package links google/nftables and its netlink connection; the module
// root does not, so a program that only translates links neither.
package nftexport
