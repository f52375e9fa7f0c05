-- wrk script for the GET endpoints: wrk's own request, and one
-- machine-readable line with the latency percentiles (microseconds) that
-- wrk's --latency leaves out (it stops at p99).
done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p99=%d p99.9=%d max=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
