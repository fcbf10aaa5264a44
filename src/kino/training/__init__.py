"""Training the demo model on the synthetic world (`kino train`)."""
