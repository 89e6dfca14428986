"""The proto is wire-compatible with KEDA's and the committed generated code is up to date."""

from __future__ import annotations

from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor

from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto.regenerate import REPO_ROOT, regenerate

# KEDA v2.20.2 pkg/scalers/externalscaler/externalscaler.proto (blob eb583c4321a9), plus
# StreamMetricSpec from main (8b4f083ca8c8): message -> (field, number, type, repeated).
T = FieldDescriptor
KEDA_MESSAGES = {
    "ScaledObjectRef": {
        ("name", 1, T.TYPE_STRING, False),
        ("namespace", 2, T.TYPE_STRING, False),
        ("scalerMetadata", 3, T.TYPE_MESSAGE, True),  # map<string,string>
    },
    "IsActiveResponse": {("result", 1, T.TYPE_BOOL, False)},
    "GetMetricSpecResponse": {("metricSpecs", 1, T.TYPE_MESSAGE, True)},
    "MetricSpec": {
        ("metricName", 1, T.TYPE_STRING, False),
        ("targetSize", 2, T.TYPE_INT64, False),
        ("targetSizeFloat", 3, T.TYPE_DOUBLE, False),
    },
    "GetMetricsRequest": {
        ("scaledObjectRef", 1, T.TYPE_MESSAGE, False),
        ("metricName", 2, T.TYPE_STRING, False),
    },
    "GetMetricsResponse": {("metricValues", 1, T.TYPE_MESSAGE, True)},
    "MetricValue": {
        ("metricName", 1, T.TYPE_STRING, False),
        ("metricValue", 2, T.TYPE_INT64, False),
        ("metricValueFloat", 3, T.TYPE_DOUBLE, False),
    },
}
KEDA_METHODS = {
    "IsActive": ("ScaledObjectRef", "IsActiveResponse", False),
    "StreamIsActive": ("ScaledObjectRef", "IsActiveResponse", True),
    "GetMetricSpec": ("ScaledObjectRef", "GetMetricSpecResponse", False),
    "GetMetrics": ("GetMetricsRequest", "GetMetricsResponse", False),
    "StreamMetricSpec": ("ScaledObjectRef", "GetMetricSpecResponse", True),
}


def test_messages_match_kedas_field_numbers() -> None:
    assert pb.DESCRIPTOR.package == "externalscaler"
    for name, fields in KEDA_MESSAGES.items():
        descriptor = pb.DESCRIPTOR.message_types_by_name[name]
        found = {(f.name, f.number, f.type, f.is_repeated) for f in descriptor.fields}
        assert found == fields, name
    entry = pb.ScaledObjectRef.DESCRIPTOR.fields_by_name["scalerMetadata"].message_type
    assert entry is not None
    assert entry.GetOptions().map_entry


def test_service_matches_kedas() -> None:
    service = pb.DESCRIPTOR.services_by_name["ExternalScaler"]
    assert service.full_name == "externalscaler.ExternalScaler"
    found = {
        m.name: (m.input_type.name, m.output_type.name, m.server_streaming) for m in service.methods
    }
    assert found == KEDA_METHODS


def test_generated_files_are_up_to_date(tmp_path: Path) -> None:
    assert regenerate(tmp_path) == 0
    for name in ("externalscaler_pb2.py", "externalscaler_pb2_grpc.py", "externalscaler_pb2.pyi"):
        fresh = (tmp_path / "plugins/apa/proto" / name).read_bytes()
        committed = (REPO_ROOT / "plugins/apa/proto" / name).read_bytes()
        assert fresh == committed, f"{name} is stale: run python -m plugins.apa.proto.regenerate"
