"""The economy module: payment facts and what they entitle (tier grants, later tickets)."""
