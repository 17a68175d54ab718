# Stage rules: pkpd (see docs/architecture.md for the conventions).
