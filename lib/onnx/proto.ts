/**
 * The part of the ONNX protobuf schema (onnx.proto3, IR version 7) that the exporter writes and
 * the Predictor reads, as a protobufjs reflection descriptor. Field numbers follow the official
 * schema; fields this package never uses (sparse tensors, training info, sequence/map types) are
 * left out, which protobufjs tolerates when decoding: unknown fields are skipped.
 * Kept in code so that nothing is fetched or parsed from a .proto file at run time.
 */
import { createHash } from 'crypto';
import * as protobuf from 'protobufjs/light';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;

/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
export const IR_VERSION = 7;
export const OPSET_VERSION = 13;

const descriptor: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          },
          nested: {
            Tensor: {
              fields: {
                elemType: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;

/** The ModelProto message type (built once, on first use). */
export function modelProto(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(descriptor).lookupType('onnx.ModelProto');
  return modelType;
}

// Plain-object shapes of the messages, as this package fills them in.
export interface TensorInit {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  int64Data?: number[];
}
export interface AttributeInit {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}
export interface NodeInit {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute?: AttributeInit[];
}
export interface ValueInfoInit {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Array<{ dimValue: number } | { dimParam: string }> } } };
}
export interface ModelInit {
  irVersion: number;
  opsetImport: Array<{ domain: string; version: number }>;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: {
    name: string;
    node: NodeInit[];
    initializer: TensorInit[];
    input: ValueInfoInit[];
    output: ValueInfoInit[];
  };
  metadataProps: Array<{ key: string; value: string }>;
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(model: ModelInit): Uint8Array {
  const type = modelProto();
  return type.encode(type.fromObject(model)).finish();
}

/**
 * The metadata key holding the SHA-256 of the encoded graph (ModelProto field 7: nodes, weights,
 * inputs, outputs), so a damaged weight is found at load time instead of as NaN predictions.
 */
export const GRAPH_DIGEST_KEY = 'acr.graph_sha256';

/** The bytes of the GraphProto inside ModelProto bytes, exactly as stored; null when there is none. */
export function graphBytes(bytes: Uint8Array): Uint8Array | null {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 7 && (tag & 7) === 2) {
      const len = r.uint32();
      return bytes.subarray(r.pos, r.pos + len);
    }
    r.skipType(tag & 7);
  }
  return null;
}

/** Hex SHA-256 of the model's graph bytes (see GRAPH_DIGEST_KEY). */
export function graphDigest(bytes: Uint8Array): string {
  const g = graphBytes(bytes);
  return createHash('sha256').update(g ?? new Uint8Array(0)).digest('hex');
}

/** What the Predictor needs from a model file: metadata and the graph's inputs and outputs. */
export interface DecodedModel {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producerName: string;
  producerVersion: string;
  metadata: Record<string, string>;
  inputs: Array<{ name: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; shape: Array<number | string> }>;
}

interface DecodedValueInfo {
  name?: string;
  type?: { tensorType?: { shape?: { dim?: Array<{ dimValue?: number; dimParam?: string }> } } };
}

function valueInfo(v: DecodedValueInfo): { name: string; shape: Array<number | string> } {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return { name: v.name ?? '', shape: dims.map((d) => d.dimParam ?? Number(d.dimValue ?? -1)) };
}

/** Parses ONNX protobuf bytes; throws protobufjs's error on bytes that are not a ModelProto. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const type = modelProto();
  const msg = type.toObject(type.decode(bytes), { longs: Number, defaults: true }) as {
    irVersion: number;
    opsetImport: Array<{ domain: string; version: number }>;
    producerName: string;
    producerVersion: string;
    metadataProps: Array<{ key: string; value: string }>;
    graph?: { input?: DecodedValueInfo[]; output?: DecodedValueInfo[]; initializer?: Array<{ name?: string }> };
  };
  const initNames = new Set((msg.graph?.initializer ?? []).map((t) => t.name));
  const metadata: Record<string, string> = {};
  for (const { key, value } of msg.metadataProps) metadata[key] = value;
  return {
    irVersion: msg.irVersion,
    opsets: msg.opsetImport,
    producerName: msg.producerName,
    producerVersion: msg.producerVersion,
    metadata,
    // Old IR versions list initializers among the inputs; they are not inputs a caller feeds.
    inputs: (msg.graph?.input ?? []).filter((v) => !initNames.has(v.name)).map(valueInfo),
    outputs: (msg.graph?.output ?? []).map(valueInfo),
  };
}
