"""plans: standard plans, plan stubs and plan wrappers (pure message generation)."""
