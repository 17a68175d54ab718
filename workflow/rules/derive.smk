# Stage rules: derive (see docs/architecture.md for the conventions).
