package parse

// targetWhy says, for some target extensions ctmatch does not translate,
// why: the generic message says only "not yet". (The targets ctmatch
// refuses with their options read, as TCPMSS and TOS, are refusedTargets
// of checksum.go.)
var targetWhy = map[string]string{}
