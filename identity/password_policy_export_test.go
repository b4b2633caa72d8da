package identity

// CommonPasswordsForTest returns how many distinct entries the list of
// CheckPassword holds.
func CommonPasswordsForTest() int { return len(commonPasswords()) }
