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
      // Queue + response time (Tw + Tr): HAProxy's total time (Tt) also counts the idle time of
      // a keep-alive connection before its request (Ti), which is the client's, not latency.
      latency: '(' + backend('haproxy_backend_queue_time_average_seconds') + ' + ' +
               backend('haproxy_backend_response_time_average_seconds') + ') * 1000',
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
