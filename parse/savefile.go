package parse

// IsTargetName reports whether name is the name of a target iptables knows
// (ACCEPT, DROP, RETURN and the target extensions), which iptables refuses
// as the name of a chain ("chain name may not clash with target name").
func IsTargetName(name string) bool {
	switch name {
	case "ACCEPT", "DROP", "RETURN":
		return true
	}
	return targetNames[name]
}
