//! Splitting a Piper (VITS) voice into its two halves at load time.
//!
//! A Piper voice is one ONNX graph: text encoder, duration predictor and flow produce a latent
//! `z` of shape `[1, C, frames]` (about 86 frames per second of speech), and a HiFi-GAN decoder
//! turns `z` into samples, `hop` (256) per frame. The decoder is three quarters of the compute
//! and nearly all of the memory: its dilated 1-D convolutions expand their input to
//! `channels × kernel × samples` before the matrix multiply, about 60 MB for a three-second
//! sentence, so a whole-graph run needs memory in proportion to the sentence.
//!
//! [`split_voice`] cuts the graph at `z` into an encoder model and a decoder model. The engine then
//! runs the decoder over windows of at most a few hundred frames with [`SplitModel::context`]
//! frames of overlap on each side, which gives the same samples as one run (the decoder is
//! convolutional, so a frame only sees that far) while activation memory stays flat whatever
//! the sentence length. The decoder's 1-D convolutions are also rewritten as 2-D convolutions
//! of height 1 (same weights, same results), for which ONNX Runtime has faster kernels: the
//! decoder ran about 20% faster on this machine. The encoder's convolutions become 2-D too,
//! wrapped in an Unsqueeze and a Squeeze (about 14% on the encoder).
//!
//! Anything unexpected in the graph makes [`split_voice`] fail with a reason, and the engine falls
//! back to running the voice whole, as before.
use std::collections::{HashMap, HashSet};

use onnx_protobuf::{
    type_proto, GraphProto, Message, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto,
};

/// A voice cut in two at the decoder's input.
pub struct SplitModel {
    /// Serialized ONNX: the original inputs to `z`.
    pub encoder: Vec<u8>,
    /// Serialized ONNX: `z` (and the speaker id, for multi-speaker voices) to samples.
    pub decoder: Vec<u8>,
    /// The decoder takes `z` as `[1, C, 1, frames]` (its convolutions were made 2-D).
    pub planar: bool,
    /// The decoder also takes the speaker id after `z`.
    pub decoder_takes_speaker: bool,
    /// Output samples per latent frame.
    pub hop: usize,
    /// Frames of context each side of a decoder window needs to match a whole run.
    pub context: usize,
}

/// Why a voice could not be split, and the voice itself (re-encoded, whole) to run instead.
pub struct Unsplittable {
    pub reason: String,
    pub model: Option<Vec<u8>>,
}

/// Cut `model` (a serialized Piper ONNX graph) into encoder and decoder. Takes the bytes so
/// they can be freed as soon as they are parsed: load-time peak memory is about two copies
/// of the weights, not four. If the graph does not look like a Piper VITS voice, the error
/// says why and carries the whole model back.
pub fn split_voice(model: Vec<u8>) -> Result<SplitModel, Unsplittable> {
    let mut proto = ModelProto::parse_from_bytes(&model).map_err(|e| Unsplittable {
        reason: format!("not an ONNX model: {e}"),
        model: None,
    })?;
    drop(model);
    let mut graph = proto.graph.take().unwrap_or_default();
    let plan = match plan(&graph) {
        Ok(plan) => plan,
        Err(reason) => {
            proto.graph = Some(graph).into();
            return Err(Unsplittable {
                model: proto.write_to_bytes().ok(),
                reason,
            });
        }
    };
    // Serialize `g` as a model like the original; the graph is handed back, not copied.
    let encode = |g: GraphProto| -> Result<(Vec<u8>, GraphProto), Unsplittable> {
        let mut m = proto.clone();
        m.graph = Some(g).into();
        let bytes = m.write_to_bytes().map_err(|e| Unsplittable {
            reason: e.to_string(),
            model: None,
        })?;
        Ok((bytes, m.graph.take().unwrap_or_default()))
    };
    let mut weights: HashMap<String, TensorProto> = std::mem::take(&mut graph.initializer)
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();

    // The decoder first (small), taking the weights only it reads.
    let mut dec = GraphProto::new();
    dec.name = "decoder".into();
    dec.node = plan
        .decoder
        .iter()
        .map(|&i| graph.node[i].clone())
        .collect();
    dec.initializer = take_weights(&dec.node, &mut weights, &plan.encoder_reads);
    if plan.planar {
        make_planar(&mut dec);
    }
    dec.input.push(float_value(&plan.z));
    if plan.decoder_takes_speaker {
        dec.input
            .extend(graph.input.iter().find(|v| v.name == "sid").cloned());
    }
    dec.output
        .extend(graph.output.iter().map(|v| float_value(&v.name)));
    let (decoder, dec) = encode(dec)?;
    drop(dec);

    // Then the encoder, moving its nodes and weights out of the parsed model.
    let mut nodes: Vec<Option<NodeProto>> = std::mem::take(&mut graph.node)
        .into_iter()
        .map(Some)
        .collect();
    let mut enc = GraphProto::new();
    enc.name = "encoder".into();
    enc.node = plan
        .encoder
        .iter()
        .filter_map(|&i| nodes[i].take())
        .collect();
    drop(nodes);
    enc.initializer = take_weights(&enc.node, &mut weights, &HashSet::new());
    drop(weights);
    // Squeeze and Unsqueeze take their axes as an input from opset 13 on.
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(0, |o| o.version);
    if plan.planar && opset >= 13 {
        make_encoder_convs_planar(&mut enc);
    }
    enc.input = graph
        .input
        .iter()
        .filter(|v| plan.encoder_inputs.contains(&v.name))
        .cloned()
        .collect();
    enc.output.push(float_value(&plan.z));
    let (encoder, enc) = encode(enc)?;
    drop(enc);
    Ok(SplitModel {
        encoder,
        decoder,
        planar: plan.planar,
        decoder_takes_speaker: plan.decoder_takes_speaker,
        hop: plan.hop,
        context: plan.context,
    })
}

/// What to cut, decided before anything is taken apart.
struct Plan {
    z: String,
    encoder: Vec<usize>,
    encoder_inputs: HashSet<String>,
    /// Every tensor name the encoder's nodes read (weights it shares with the decoder are
    /// copied, not moved).
    encoder_reads: HashSet<String>,
    decoder: Vec<usize>,
    decoder_takes_speaker: bool,
    planar: bool,
    hop: usize,
    context: usize,
}

fn plan(graph: &GraphProto) -> Result<Plan, String> {
    let decoder_start = graph
        .node
        .iter()
        .find(|n| n.op_type == "Conv" && n.name.starts_with("/dec/"))
        .ok_or("no decoder (`/dec/` Conv) in the graph")?;
    let z = decoder_start
        .input
        .first()
        .cloned()
        .ok_or("the decoder's first Conv has no input")?;
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: HashSet<&str> = graph.input.iter().map(|v| v.name.as_str()).collect();
    let outputs: Vec<String> = graph.output.iter().map(|v| v.name.clone()).collect();
    if outputs.len() != 1 {
        return Err(format!(
            "expected one graph output, found {}",
            outputs.len()
        ));
    }
    let (encoder, encoder_inputs) = closure(
        graph,
        std::slice::from_ref(&z),
        &HashSet::new(),
        &inputs,
        &initializers,
    )?;
    let stop: HashSet<String> = [z.clone()].into();
    let (decoder, decoder_inputs) = closure(graph, &outputs, &stop, &inputs, &initializers)?;
    if !decoder_inputs.contains(&z) {
        return Err("the output does not depend on the decoder's input".into());
    }
    let decoder_takes_speaker = decoder_inputs.contains("sid");
    if decoder_inputs.len() != 1 + usize::from(decoder_takes_speaker) {
        return Err(format!(
            "the decoder needs more than the latent: {decoder_inputs:?}"
        ));
    }
    let dec_nodes: Vec<&NodeProto> = decoder.iter().map(|&i| &graph.node[i]).collect();
    let hop = dec_nodes
        .iter()
        .filter(|n| n.op_type == "ConvTranspose")
        .map(|n| ints(n, "strides").first().copied().unwrap_or(1).max(1) as usize)
        .product::<usize>();
    if hop < 2 {
        return Err("the decoder does not upsample".into());
    }
    let encoder_reads = encoder
        .iter()
        .flat_map(|&i| graph.node[i].input.iter().cloned())
        .collect();
    let planar = !decoder_takes_speaker && can_be_planar(&dec_nodes, graph).is_ok();
    Ok(Plan {
        context: receptive_field(&dec_nodes),
        z,
        encoder,
        encoder_inputs,
        encoder_reads,
        decoder,
        decoder_takes_speaker,
        planar,
        hop,
    })
}

/// Move the weights `nodes` read out of `weights`, copying those `shared` says another
/// graph also reads.
fn take_weights(
    nodes: &[NodeProto],
    weights: &mut HashMap<String, TensorProto>,
    shared: &HashSet<String>,
) -> Vec<TensorProto> {
    let mut out = Vec::new();
    for name in nodes.iter().flat_map(|n| n.input.iter()) {
        if shared.contains(name) {
            if let Some(t) = weights.get(name) {
                if !out.iter().any(|o: &TensorProto| &o.name == name) {
                    out.push(t.clone());
                }
            }
        } else if let Some(t) = weights.remove(name) {
            out.push(t);
        }
    }
    out
}

/// The nodes needed to compute `targets` (indices, in graph order) and the graph inputs or
/// `stop` tensors they read.
fn closure(
    graph: &GraphProto,
    targets: &[String],
    stop: &HashSet<String>,
    inputs: &HashSet<&str>,
    initializers: &HashSet<&str>,
) -> Result<(Vec<usize>, HashSet<String>), String> {
    let producer: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut needed = vec![false; graph.node.len()];
    let mut reads = HashSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(t) = todo.pop() {
        if t.is_empty() || !seen.insert(t.clone()) {
            continue;
        }
        if stop.contains(&t) || inputs.contains(t.as_str()) {
            reads.insert(t);
            continue;
        }
        if initializers.contains(t.as_str()) {
            continue;
        }
        let &i = producer
            .get(t.as_str())
            .ok_or_else(|| format!("tensor `{t}` has no producer"))?;
        if !needed[i] {
            needed[i] = true;
            todo.extend(graph.node[i].input.iter().cloned());
        }
    }
    Ok((
        (0..graph.node.len()).filter(|&i| needed[i]).collect(),
        reads,
    ))
}

/// A float tensor value of unspecified shape (the decoder's output gains an axis when its
/// convolutions become 2-D, and its length depends on the window).
fn float_value(name: &str) -> ValueInfoProto {
    let mut tensor = type_proto::Tensor::new();
    tensor.elem_type = 1; // FLOAT
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tensor);
    let mut v = ValueInfoProto::new();
    v.name = name.into();
    v.type_ = Some(ty).into();
    v
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
        .unwrap_or_default()
}

/// How many latent frames either side of a window the decoder's output depends on, plus one.
/// Propagated through the graph in order: each tensor carries how far it reaches back (in
/// latent frames) and its upsampling factor so far; a convolution adds its half-width at
/// that factor, a transposed convolution its kernel-over-stride, and a node joining branches
/// (the residual blocks' sum) takes the farthest. An upper bound (kernels are counted whole,
/// rounded up); for joe it gives 13 frames, and perturbing single frames showed 11 are needed.
fn receptive_field(nodes: &[&NodeProto]) -> usize {
    let mut reach: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut farthest = 0.0f64;
    for n in nodes {
        let (mut frames, mut factor) = n
            .input
            .iter()
            .filter_map(|i| reach.get(i.as_str()))
            .fold((0.0f64, 1.0f64), |(f, x), &(g, y)| (f.max(g), x.max(y)));
        let kernel = ints(n, "kernel_shape").last().copied().unwrap_or(1).max(1) as f64;
        let dilation = ints(n, "dilations").last().copied().unwrap_or(1).max(1) as f64;
        let span = (kernel - 1.0) * dilation;
        match n.op_type.as_str() {
            "Conv" => {
                let before = ints(n, "pads").first().copied().unwrap_or(0).max(0) as f64;
                frames += before.max(span - before) / factor;
            }
            "ConvTranspose" => {
                let stride = ints(n, "strides").last().copied().unwrap_or(1).max(1) as f64;
                frames += (kernel / stride).ceil() / factor;
                factor *= stride;
            }
            _ => {}
        }
        farthest = farthest.max(frames);
        for o in &n.output {
            reach.insert(o.as_str(), (frames, factor));
        }
    }
    farthest.ceil() as usize + 1
}

/// Whether every decoder node is element-wise or a 1-D convolution with its own 3-D weight,
/// so the convolutions can become 2-D and the extra axis passes through unchanged.
fn can_be_planar(nodes: &[&NodeProto], graph: &GraphProto) -> Result<(), String> {
    const ELEMENTWISE: &[&str] = &[
        "Add",
        "Sub",
        "Mul",
        "Div",
        "LeakyRelu",
        "Relu",
        "Tanh",
        "Constant",
        "Unsqueeze",
    ];
    for (i, n) in nodes.iter().enumerate() {
        let conv = matches!(n.op_type.as_str(), "Conv" | "ConvTranspose");
        if !conv && !ELEMENTWISE.contains(&n.op_type.as_str()) {
            return Err(format!("decoder op {} is not element-wise", n.op_type));
        }
        // An Unsqueeze is only harmless as the very last step (it adds the output's axis).
        if n.op_type == "Unsqueeze" && i + 1 != nodes.len() {
            return Err("Unsqueeze inside the decoder".into());
        }
        if !conv {
            continue;
        }
        if n.attribute.iter().any(|a| a.name == "output_shape") {
            return Err("ConvTranspose with output_shape".into());
        }
        let w = n.input.get(1).ok_or("convolution without weights")?;
        let uses = graph
            .node
            .iter()
            .flat_map(|m| m.input.iter())
            .filter(|i| *i == w)
            .count();
        let dims = graph
            .initializer
            .iter()
            .find(|t| &t.name == w)
            .map(|t| t.dims.len());
        if uses != 1 || dims != Some(3) {
            return Err(format!("weight {w} is shared or not 3-D"));
        }
    }
    Ok(())
}

/// Rewrite every 1-D Conv / ConvTranspose as 2-D with a height of 1: weights `[O, I, k]`
/// become `[O, I, 1, k]` (the same bytes), and kernel, stride, dilation and padding gain a
/// leading 1 or 0. Call only after [`can_be_planar`] agreed.
fn make_planar(g: &mut GraphProto) {
    let mut weights: HashSet<String> = HashSet::new();
    for n in g.node.iter_mut() {
        if !matches!(n.op_type.as_str(), "Conv" | "ConvTranspose") {
            continue;
        }
        weights.insert(n.input[1].clone());
        planar_attributes(n);
    }
    planar_weights(g, &weights);
}

/// Weights `[O, I, k]` of the convolutions made 2-D become `[O, I, 1, k]` (the same bytes).
fn planar_weights(g: &mut GraphProto, weights: &HashSet<String>) {
    for t in g.initializer.iter_mut() {
        if weights.contains(&t.name) {
            t.dims.insert(2, 1);
        }
    }
}

/// Kernel, stride, dilation and padding of a 1-D convolution made 2-D with a height of 1.
fn planar_attributes(n: &mut NodeProto) {
    for a in n.attribute.iter_mut() {
        match a.name.as_str() {
            "kernel_shape" | "strides" | "dilations" | "output_padding" => a.ints.insert(0, 1),
            "pads" if a.ints.len() == 2 => a.ints = vec![0, a.ints[0], 0, a.ints[1]],
            _ => {}
        }
    }
}

/// The encoder's 1-D convolutions (text encoder, duration predictor, flow) run 2-D too, each
/// between an Unsqueeze and a Squeeze of a height-1 axis, since the ops around them (attention,
/// reshapes) need the 3-D shape. ONNX Runtime's 2-D kernels made the encoder about 1.14×
/// faster in a side test (onnxruntime 1.32, 15 alternating runs; latent equal to 5e-5). Only
/// a convolution whose weight is a 3-D initializer read by it alone is rewritten.
fn make_encoder_convs_planar(g: &mut GraphProto) {
    const AXIS: &str = "audioby_height_axis";
    let mut reads: HashMap<String, usize> = HashMap::new();
    for n in &g.node {
        for i in &n.input {
            *reads.entry(i.clone()).or_default() += 1;
        }
    }
    let three_d: HashSet<String> = g
        .initializer
        .iter()
        .filter(|t| t.dims.len() == 3 && reads.get(&t.name) == Some(&1))
        .map(|t| t.name.clone())
        .collect();
    let mut weights = HashSet::new();
    let mut nodes = Vec::with_capacity(g.node.len());
    for mut n in std::mem::take(&mut g.node) {
        if n.op_type != "Conv" || !n.input.get(1).is_some_and(|w| three_d.contains(w)) {
            nodes.push(n);
            continue;
        }
        weights.insert(n.input[1].clone());
        planar_attributes(&mut n);
        let (x, y) = (n.input[0].clone(), n.output[0].clone());
        let (x4, y4) = (format!("{y}_planar_in"), format!("{y}_planar_out"));
        nodes.push(axis_node("Unsqueeze", &x, &x4, AXIS));
        n.input[0] = x4;
        n.output[0] = y4.clone();
        nodes.push(n);
        nodes.push(axis_node("Squeeze", &y4, &y, AXIS));
    }
    g.node = nodes;
    if weights.is_empty() {
        return;
    }
    planar_weights(g, &weights);
    let mut axis = TensorProto::new();
    axis.name = AXIS.into();
    axis.data_type = onnx_protobuf::tensor_proto::DataType::INT64 as i32;
    axis.dims = vec![1];
    axis.int64_data = vec![2];
    g.initializer.push(axis);
}

fn axis_node(op: &str, from: &str, to: &str, axis: &str) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.name = format!("{to}_{op}");
    n.input = vec![from.into(), axis.into()];
    n.output = vec![to.into()];
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_onnx_file_is_refused_with_a_reason() {
        let err = split_voice(b"definitely not protobuf".to_vec())
            .err()
            .unwrap();
        assert!(
            err.reason.contains("not an ONNX model") || err.reason.contains("no decoder"),
            "{}",
            err.reason
        );
    }

    /// A valid ONNX model that is not a Piper voice (no `/dec/` decoder) comes back whole,
    /// re-encoded, so the engine can still run it as one graph.
    #[test]
    fn a_graph_without_a_decoder_comes_back_whole() {
        let mut node = NodeProto::new();
        node.op_type = "Identity".into();
        node.name = "/only/Identity".into();
        node.input.push("x".into());
        node.output.push("y".into());
        let mut graph = GraphProto::new();
        graph.name = "not-a-voice".into();
        graph.node.push(node);
        graph.input.push(float_value("x"));
        graph.output.push(float_value("y"));
        let mut model = ModelProto::new();
        model.ir_version = 8;
        model.graph = Some(graph).into();
        let bytes = model.write_to_bytes().unwrap();

        let err = split_voice(bytes).err().expect("nothing to split");
        assert!(err.reason.contains("no decoder"), "{}", err.reason);
        let back = ModelProto::parse_from_bytes(&err.model.expect("the whole model")).unwrap();
        assert_eq!(back, model);
    }
}
