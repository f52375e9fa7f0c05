-- wrk script for the form-encoded POST endpoints (/oauth/token,
-- /oauth/introspect): the body comes from the environment variable BODY, and
-- every request carries a random X-Forwarded-For, as behind a load balancer,
-- so the per-IP limits see many clients (start Puguh with
-- PUGUH_TRUSTED_PROXIES=127.0.0.1/32).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BODY")
math.randomseed(os.time())
request = function()
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
    math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format()
end

-- done prints one machine-readable line with the latency percentiles
-- (microseconds) that wrk's --latency leaves out (it stops at p99).
done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p99=%d p99.9=%d max=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
