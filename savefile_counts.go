package ctmatch

import "slices"

// ruleCounts is the number of nft rules of each rule of a chain, in order,
// which the -I positions of a file need (the nft rules before any place).
// It takes a byte a rule, not a word, so that translate -f holds a
// million rules' numbers in a megabyte: a rule becomes at most a few dozen
// nft rules, and the rare number of 255 or more is kept apart, in over.
type ruleCounts struct {
	counts []uint8 // a rule's nft rules; overCount: the next of over
	over   []int   // the numbers of overCount or more, in the rules' order
	total  int     // the nft rules, the sum over the rules
}

const overCount = 255

// insert puts n rules of each nft rules before the rule at index idx (at
// the end when idx is the number of rules or more).
func (c *ruleCounts) insert(idx, n, each int) {
	if n <= 0 {
		return
	}
	idx = min(idx, len(c.counts))
	c.total += n * each
	b := uint8(min(each, overCount))
	if b == overCount {
		k := 0 // the numbers in over before idx
		for _, v := range c.counts[:idx] {
			if v == overCount {
				k++
			}
		}
		c.over = slices.Insert(c.over, k, slices.Repeat([]int{each}, n)...)
	}
	if idx == len(c.counts) {
		for range n {
			c.counts = append(c.counts, b)
		}
		return
	}
	c.counts = slices.Insert(c.counts, idx, slices.Repeat([]uint8{b}, n)...)
}

// before returns the nft rules of the rules before index idx.
func (c *ruleCounts) before(idx int) int {
	if idx >= len(c.counts) {
		return c.total
	}
	sum, k := 0, 0
	for _, v := range c.counts[:idx] {
		if v == overCount {
			sum += c.over[k]
			k++
			continue
		}
		sum += int(v)
	}
	return sum
}

// reset empties the chain (-F).
func (c *ruleCounts) reset() { *c = ruleCounts{counts: c.counts[:0], over: c.over[:0]} }
