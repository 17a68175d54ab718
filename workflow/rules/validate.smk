# Stage rules: validate (see docs/architecture.md for the conventions).
