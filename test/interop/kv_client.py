"""A Python client generated from protos/dynamo/v1/kv.proto alone.

Usage: kv_client.py GENERATED_DIR ENDPOINT
Writes, reads, overwrites with the context and deletes one key, then prints
one JSON line describing what it saw. Used by test/interop/python.test.ts.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from dynamo.v1 import kv_pb2, kv_pb2_grpc  # noqa: E402

channel = grpc.insecure_channel(sys.argv[2])
kv = kv_pb2_grpc.KVStub(channel)
key = b"python-key"
put = kv.Put(kv_pb2.PutRequest(key=key, value=b"from python", consistency=kv_pb2.CONSISTENCY_QUORUM), timeout=5)
first = kv.Get(kv_pb2.GetRequest(key=key, consistency=kv_pb2.CONSISTENCY_ALL), timeout=5)
kv.Put(kv_pb2.PutRequest(key=key, value=b"replaced", context=first.context), timeout=5)
second = kv.Get(kv_pb2.GetRequest(key=key), timeout=5)
kv.Delete(kv_pb2.DeleteRequest(key=key, context=second.context), timeout=5)
third = kv.Get(kv_pb2.GetRequest(key=key), timeout=5)
try:
    kv.Get(kv_pb2.GetRequest(key=b""), timeout=5)
    bad = "accepted"
except grpc.RpcError as e:
    bad = e.code().name
print(json.dumps({
    "put_context": len(put.context) > 0,
    "first": [v.decode() for v in first.values],
    "second": [v.decode() for v in second.values],
    "after_delete": [v.decode() for v in third.values],
    "empty_key": bad,
}))
