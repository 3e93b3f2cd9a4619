package anomaly

// SetTie is a temporary dev hook.
func SetTie(m int, d, tol float64) { tieMax, tieDemote, tieTol = m, d, tol }

// SetDiscordPow is a temporary dev hook.
func SetDiscordPow(p float64) { discordPow = p }
