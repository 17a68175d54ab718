# Reference values for the signed-rank test and the Hodges-Lehmann CI (fcrnpipe.stats.wilcoxon).
#
#   Rscript tests/data/r/wilcoxon_reference.R > tests/data/r/wilcoxon_reference.csv
#
# Run with R 4.2.2 and coin 1.4-2 (Debian packages r-base-core, r-cran-coin). The tests read the
# CSV this script printed (tests/test_stats_wilcoxon.py); they do not need R.
#
# Rows with source "wilcox.test": R's wilcox.test(d, exact = TRUE, conf.int = TRUE) on data
# without ties or zeros (V, exact two-sided p, pseudo-median, CI and its conf.level attribute;
# R widens to the full range of the Walsh averages and lowers conf.level when the level cannot
# be reached).
# Rows with source "coin": coin::wilcoxsign_test(distribution = "exact") for zero.method Pratt
# and Wilcoxon (p-value of H0: theta = 0), and the confidence set obtained by inverting that
# same coin test: the shifts theta whose test of round(d - theta, 10) has p > 0.05, evaluated at
# every distinct Walsh average and at the midpoint of every gap between them (the p-value is
# constant on each gap), its limits, whether each limit itself is in the set, whether the set is
# one interval, and the guaranteed coverage min over theta of (1 - P(p <= 0.05)) computed from
# coin's exact null distribution (dperm / support) of each test used.
suppressPackageStartupMessages(library(coin))
alpha <- 0.05

untied <- list(
  hw_depression = c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30) -
                  c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29),
  u6  = c(1.83, -0.42, 0.95, 2.71, 0.08, 1.37),
  u7  = c(-0.31, 1.12, 0.57, 2.04, -1.46, 0.89, 1.73),
  u10 = c(0.62, -0.15, 1.48, 0.93, 2.31, -0.77, 1.05, 0.28, 1.86, 0.44),
  u12 = c(-2.13, -0.58, -1.27, 0.36, -1.74, -0.92, -0.11, -2.65, -1.41, 0.71, -0.83, -1.99),
  u15 = c(0.35, 1.21, -0.47, 0.88, 2.02, 0.13, -0.29, 1.66, 0.71, 1.09, -0.94, 0.52, 1.38, 0.06, 2.47),
  u4_not_attainable = c(-1.1, -2.3, -0.6, -1.7),
  u2_arm340 = c(-2.0, -1.5)
)
tied <- list(
  issue10_example = c(-1, -0.5, -0.5, 0, 0, 0, -1.5, -1, -0.5),
  edss_n8_all_improved = c(-1.5, -2.0, -1.5, -1.5, -1.0, -1.5, -1.0, -0.5),
  edss_n7_all_improved = c(-1.0, -1.0, -2.0, -1.5, -1.5, -1.5, -0.5),
  edss_n11_mixed = c(-0.5, -2.0, -1.0, 0.5, -0.5, -0.5, -1.0, 0.0, -0.5, 0.5, 0.5),
  edss_n10_mixed = c(-1.5, 0.0, 0.0, -1.0, 0.5, 0.5, 0.5, -1.5, -1.5, 1.0),
  edss_n12_mixed = c(-1, -0.5, 0, 0.5, -1.5, -1, -0.5, -2, 0, -1, -0.5, 1),
  edss_n9_open_at_0 = c(-1.0, -2.0, -1.0, 0.5, -2.0, -1.0, -1.0, -1.5, 1.0),
  edss_n10_open_at_0 = c(-1.0, 0.0, -2.0, -1.0, -0.5, 0.0, -0.5, 0.0, 0.0, -1.0),
  ties_hand = c(-1, 1, 2, 2, 3),
  zero_hand = c(0, 1, -2, 2, 3)
)

fmt <- function(v) ifelse(is.na(v), "", sprintf("%.17g", v))  # round-trips every double exactly
walsh <- function(d) { o <- outer(d, d, "+") / 2; sort(o[upper.tri(o, diag = TRUE)]) }

coin_test <- function(d, zm) {
  d <- round(d, 10)
  wilcoxsign_test(d ~ rep(0, length(d)), distribution = "exact", zero.method = zm)
}
coin_p <- function(d, zm) {
  if (all(round(d, 10) == 0)) return(1)
  as.numeric(pvalue(coin_test(d, zm)))
}
coin_size <- function(d, zm) {
  if (all(round(d, 10) == 0)) return(0)
  it <- coin_test(d, zm)
  s <- support(it); pr <- dperm(it, s)
  p2 <- sapply(s, function(x) sum(pr[abs(s) >= abs(x) - 1e-8]))
  sum(pr[p2 <= alpha + 1e-12])
}

invert <- function(d, zm) {
  w <- unique(round(walsh(d), 10))
  k <- length(w)
  probes <- c(w[1] - 1, (w[-1] + w[-k]) / 2, w[k] + 1)
  theta <- c(rbind(probes[1:k], w), probes[k + 1])           # gap, point, gap, ..., point, gap
  is_point <- c(rbind(rep(FALSE, k), rep(TRUE, k)), FALSE)
  lo <- c(rbind(c(-Inf, w[-k]), w), w[k])
  hi <- c(rbind(w, w), Inf)
  p <- sapply(theta, function(t) coin_p(d - t, zm))
  size <- sapply(theta, function(t) coin_size(d - t, zm))
  acc <- which(p > alpha)
  if (length(acc) == 0 || p[1] > alpha || p[length(p)] > alpha)
    return(list(low = NA, high = NA, low_in = NA, high_in = NA, connected = NA, achieved = NA))
  a <- acc[1]; b <- acc[length(acc)]
  list(low = lo[a], high = hi[b], low_in = is_point[a], high_in = is_point[b],
       connected = all(p[a:b] > alpha), achieved = 1 - max(size))
}

cat("case,source,zero_method,x,n,statistic,p_value,estimate,ci_low,ci_high,ci_low_included,ci_high_included,conf_level,connected\n")
row <- function(...) cat(paste(..., sep = ","), "\n", sep = "")
for (nm in names(untied)) {
  d <- untied[[nm]]
  stopifnot(!any(d == 0), !any(duplicated(abs(d))))
  r <- suppressWarnings(wilcox.test(d, exact = TRUE, conf.int = TRUE, conf.level = 1 - alpha))
  row(nm, "wilcox.test", "", paste(fmt(d), collapse = ";"), length(d), fmt(unname(r$statistic)), fmt(r$p.value),
      fmt(unname(r$estimate)), fmt(r$conf.int[1]), fmt(r$conf.int[2]), "", "", fmt(attr(r$conf.int, "conf.level")), "")
}
for (nm in c(names(untied), names(tied))) {
  d <- if (nm %in% names(untied)) untied[[nm]] else tied[[nm]]
  for (zm in c("Pratt", "Wilcoxon")) {
    inv <- invert(d, zm)
    row(nm, "coin", tolower(zm), paste(fmt(d), collapse = ";"), length(d), "", fmt(coin_p(d, zm)),
        fmt(median(walsh(d))), fmt(inv$low), fmt(inv$high), fmt(as.numeric(inv$low_in)), fmt(as.numeric(inv$high_in)),
        fmt(inv$achieved), fmt(as.numeric(inv$connected)))
  }
}
