# Stage rules: figures (see docs/architecture.md for the conventions).
