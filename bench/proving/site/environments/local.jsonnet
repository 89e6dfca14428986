// The proving ground (bench/proving_ground.py): everything on 127.0.0.1, HAProxy as the gateway,
// prometheus-process-exporter for the replicas' CPU. The query templates are the HAProxy set the
// scaler reference (docs/reference/scaler.md) documents; the bench reads them from the rendered ConfigMap, as the scaler's pod would.
//
// HAProxy backends are named `<namespace>.<service>` so one grouped query serves every endpoint;
// process-exporter groups are named `<namespace>.<pod>`.
local range = '[5s]';  // five 1 s scrapes per rate window
local backend(expr) =
  'sum by (namespace, service) (label_replace(label_replace(' + expr +
  ', "namespace", "$1", "proxy", "([^.]+)[.].+"), "service", "$1", "proxy", "[^.]+[.](.+)"))';
local group(expr) =
  'sum by (namespace, service) (label_replace(label_replace(' + expr +
  ', "namespace", "$1", "groupname", "([^.]+)[.].+"), "service", "$1", "groupname",' +
  ' "[^.]+[.](.+)-[a-z0-9]{1,10}-[a-z0-9]{5}"))';
{
  name: 'local',
  namespacePrefix: 'serving-',
  cluster: { name: 'proving-ground', server: 'https://127.0.0.1:6443' },
  argocd: {
    repoURL: 'https://git.example.com/ml-platform/serving-config.git',
    targetRevision: 'main',
    project: 'model-serving',
  },
  gateway: { name: 'haproxy', namespace: 'gateway-system' },
  mlflow: { trackingUri: 'http://127.0.0.1:5000' },  // the bench points it at its own registry
  prometheus: {
    url: 'http://127.0.0.1:9090',
    queries: {
      requests: backend('rate(haproxy_backend_http_requests_total' + range + ')'),
      concurrency: backend('avg_over_time(haproxy_backend_current_sessions' + range + ')'),
      // Mean latency by Little's law over the same window as the other signals: requests in
      // flight / requests per second, in ms (0/0 with no traffic is NaN: no sample). HAProxy's
      // own `*_time_average_seconds` are means over its last 1,024 requests (15-90 s of traffic
      // at 11-80 rps: longer than a load change the scaler must see); its total time (Tt) also
      // counts a keep-alive connection's idle time before each request.
      latency: backend('avg_over_time(haproxy_backend_current_sessions' + range + ')') + ' / ' +
               backend('rate(haproxy_backend_http_requests_total' + range + ')') + ' * 1000',
      replicas: backend('haproxy_backend_active_servers'),
      queue: backend('haproxy_backend_current_queue') + ' / ' +
             backend('haproxy_backend_active_servers > 0'),
      // CPU seconds per second of a replica's processes over its request: 1 core per replica
      // here (kube-state-metrics gives the request in a cluster).
      cpu: group('rate(namedprocess_namegroup_cpu_seconds_total' + range + ')') + ' / ' +
           group('namedprocess_namegroup_num_procs > bool 0'),
    },
  },
}
