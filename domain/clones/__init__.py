"""The clones module: clones, drafts, versions, public profiles, reports and moderation."""
