-- background_requests: add the requests a background update sent to its source's count.
UPDATE background_totals SET requests = requests + $n WHERE source = $s;
