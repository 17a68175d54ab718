# Stage rules: pk (see docs/architecture.md for the conventions).
