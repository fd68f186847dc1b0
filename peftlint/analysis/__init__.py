"""Flow facts every rule shares: values, names, path shapes. No rule-specific code here."""
