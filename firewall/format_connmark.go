package firewall

// newerNftNote is the comment ListNft writes above a rule whose text only
// a newer nft than 1.0.6 reads: a statement that combines the packet's and
// the connection's marks (expr.CombineMarks, CONNMARK --save-mark and
// --restore-mark with masks that combine both) is a bitwise of two
// registers, which nft 1.1.2 and later read and list, on Linux 6.13 and
// later.
const newerNftNote = "the next rule needs nft 1.1.2 or later to be read: nft 1.0.6 cannot parse its bitwise of two registers (ctmatch apply loads it)"
