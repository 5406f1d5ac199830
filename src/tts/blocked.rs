//! Keeping the decoder in ONNX Runtime's blocked layout between its convolutions.
//!
//! ONNX Runtime runs 2-D convolutions fastest in its blocked "NCHWc" layout (channels in
//! blocks of 8 or 16, innermost). Its optimizer converts each convolution, but only a few
//! other ops: every LeakyRelu, residual Add and Div of the HiFi-GAN decoder stays in the
//! plain layout, so each convolution is wrapped in a `ReorderInput` and a `ReorderOutput`
//! (14 and 20 of them per window of the joe voice, about 24 of its 214 ms, profiled with
//! ONNX Runtime 1.32). Yet an element-wise op gives the same numbers in either layout when
//! all its tensor inputs share one layout and shape: it just walks memory.
//!
//! [`keep_blocked`] takes the graph as ONNX Runtime optimized and saved it, and moves those
//! element-wise ops into the blocked layout (the transposed convolutions, which have no
//! blocked kernel, get one `ReorderInput` each), then drops every `ReorderOutput` →
//! `ReorderInput` pair that becomes a round trip. The session is then built from the result
//! with optimization off. The same kernels run on the same numbers, so the samples are
//! identical (the engine checks this on a probe window before it uses the result, see
//! [`super::model`]); the decoder runs about 9-11% faster.
//!
//! The rewrite is only correct when the element-wise ops do not broadcast one blocked tensor
//! over another of a different shape (a multi-speaker voice adds its speaker embedding over
//! time that way). It cannot see shapes, so the caller's probe is what catches that case; it
//! then keeps ONNX Runtime's own graph.
use std::collections::{HashMap, HashSet};

use onnx_protobuf::{
    attribute_proto::AttributeType, AttributeProto, Message, ModelProto, NodeProto,
};

const NCHWC: &str = "com.microsoft.nchwc";

/// Element-wise ops whose result does not depend on the layout (for inputs of one shape).
const ELEMENTWISE: [&str; 5] = ["LeakyRelu", "Add", "Sub", "Mul", "Div"];

/// Channels per block is 8 or 16 (by CPU); a count divisible by 16 needs no padding in
/// either, so the blocked tensors hold exactly the plain tensors' values.
const WHOLE_BLOCKS: i64 = 16;

/// A rewritten graph and the layout changes it saves.
#[derive(Debug)]
pub struct Blocked {
    pub model: Vec<u8>,
    /// `ReorderInput` and `ReorderOutput` nodes before and after the rewrite.
    pub reorders_before: usize,
    pub reorders_after: usize,
    /// Channels of the graph's first input, read off the convolution that takes it (for a
    /// probe input), if that is how the graph starts.
    pub input_channels: Option<usize>,
}

/// Rewrite a graph ONNX Runtime optimized (with NCHWc convolutions) so element-wise ops run
/// in the blocked layout. An error if the graph is not one, or nothing would change.
pub fn keep_blocked(optimized: &[u8]) -> Result<Blocked, String> {
    let mut model =
        ModelProto::parse_from_bytes(optimized).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.as_mut().ok_or("no graph")?;
    let scalars: HashSet<String> = graph
        .initializer
        .iter()
        .filter(|t| t.dims.iter().product::<i64>() == 1)
        .map(|t| t.name.clone())
        .chain(graph.node.iter().filter_map(|n| {
            let one = n.op_type == "Constant"
                && n.attribute.iter().any(|a| {
                    a.name == "value"
                        && a.t
                            .as_ref()
                            .is_some_and(|t| t.dims.iter().product::<i64>() == 1)
                });
            one.then(|| n.output.first().cloned()).flatten()
        }))
        .collect();
    let weight_dims: HashMap<&str, &[i64]> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t.dims.as_slice()))
        .collect();
    // Output channels of the transposed convolutions (plain layout, no blocked kernel).
    let transposed: HashMap<String, i64> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "ConvTranspose" && n.domain.is_empty())
        .filter_map(|n| {
            let dims = weight_dims.get(n.input.get(1)?.as_str())?;
            Some((
                n.output.first()?.clone(),
                dims.get(1)? * int(n, "group").unwrap_or(1),
            ))
        })
        .collect();

    let input_channels = graph.input.first().and_then(|input| {
        let reads = |name: &str| {
            graph
                .node
                .iter()
                .find(|n| n.input.first().is_some_and(|i| i == name))
        };
        let mut first = reads(&input.name)?;
        if first.op_type == "ReorderInput" {
            first = reads(first.output.first()?)?;
        }
        let dims = weight_dims.get(first.input.get(1)?.as_str())?;
        (first.op_type == "Conv")
            .then(|| usize::try_from(dims.get(1)? * int(first, "group").unwrap_or(1)).ok())
            .flatten()
    });
    let reorders = |nodes: &[NodeProto]| {
        nodes
            .iter()
            .filter(|n| n.domain == NCHWC && n.op_type.starts_with("Reorder"))
            .count()
    };
    let reorders_before = reorders(&graph.node);
    // Plain tensor name → (its blocked twin, channels).
    let mut blocked: HashMap<String, (String, i64)> = HashMap::new();
    let mut rename: HashMap<String, String> = HashMap::new();
    let mut out: Vec<NodeProto> = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let channels_last = int(&node, "channels_last").unwrap_or(0) != 0;
        if node.domain == NCHWC && node.op_type == "ReorderOutput" {
            if let (Some(channels), false) = (int(&node, "channels"), channels_last) {
                if channels % WHOLE_BLOCKS == 0 {
                    blocked.insert(node.output[0].clone(), (node.input[0].clone(), channels));
                }
            }
            out.push(node);
            continue;
        }
        if node.domain == NCHWC && node.op_type == "ReorderInput" && !channels_last {
            if let Some((twin, _)) = blocked.get(&node.input[0]) {
                rename.insert(node.output[0].clone(), twin.clone());
                continue;
            }
        }
        if node.domain.is_empty() && ELEMENTWISE.contains(&node.op_type.as_str()) {
            for input in &node.input {
                if let Some(&channels) = transposed.get(input) {
                    if channels % WHOLE_BLOCKS == 0 && !blocked.contains_key(input) {
                        let twin = format!("{input}_blocked");
                        out.push(reorder("ReorderInput", input, &twin, None));
                        blocked.insert(input.clone(), (twin, channels));
                    }
                }
            }
            let mut channels = HashSet::new();
            let inputs: Option<Vec<String>> = node
                .input
                .iter()
                .map(|i| match blocked.get(i) {
                    Some((twin, c)) => {
                        channels.insert(*c);
                        Some(twin.clone())
                    }
                    None => scalars.contains(i).then(|| i.clone()),
                })
                .collect();
            if let (Some(inputs), 1) = (inputs, channels.len()) {
                let channels = channels.into_iter().next().unwrap_or_default();
                let plain = node.output[0].clone();
                let twin = format!("{plain}_blocked");
                let mut moved = node;
                moved.input = inputs;
                moved.output = vec![twin.clone()];
                moved.name = format!("{}_blocked", moved.name);
                out.push(moved);
                // For any consumer that still wants the plain layout (removed if none does).
                out.push(reorder("ReorderOutput", &twin, &plain, Some(channels)));
                blocked.insert(plain, (twin, channels));
                continue;
            }
        }
        out.push(node);
    }
    for n in out.iter_mut() {
        for i in n.input.iter_mut() {
            if let Some(to) = rename.get(i) {
                *i = to.clone();
            }
        }
    }
    // Drop nodes nothing reads any more (the round trips' ReorderOutputs).
    let outputs: HashSet<String> = graph.output.iter().map(|v| v.name.clone()).collect();
    loop {
        let read: HashSet<&str> = out
            .iter()
            .flat_map(|n| n.input.iter().map(String::as_str))
            .chain(outputs.iter().map(String::as_str))
            .collect();
        let keep: Vec<bool> = out
            .iter()
            .map(|n| n.output.iter().any(|o| read.contains(o.as_str())))
            .collect();
        if keep.iter().all(|k| *k) {
            break;
        }
        let mut k = keep.into_iter();
        out.retain(|_| k.next().unwrap_or(true));
    }
    let reorders_after = reorders(&out);
    if reorders_after >= reorders_before {
        return Err(format!(
            "no layout change to save ({reorders_before} reorders)"
        ));
    }
    graph.node = out;
    Ok(Blocked {
        model: model.write_to_bytes().map_err(|e| e.to_string())?,
        reorders_before,
        reorders_after,
        input_channels,
    })
}

fn int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn reorder(op: &str, from: &str, to: &str, channels: Option<i64>) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.domain = NCHWC.into();
    n.name = format!("{to}_{op}");
    n.input.push(from.into());
    n.output.push(to.into());
    let attr = |name: &str, i: i64| {
        let mut a = AttributeProto::new();
        a.name = name.into();
        a.type_ = AttributeType::INT.into();
        a.i = i;
        a
    };
    n.attribute.push(attr("channels_last", 0));
    if let Some(c) = channels {
        n.attribute.push(attr("channels", c));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use onnx_protobuf::{GraphProto, TensorProto, ValueInfoProto};

    fn node(op: &str, domain: &str, inputs: &[&str], output: &str) -> NodeProto {
        let mut n = NodeProto::new();
        n.op_type = op.into();
        n.domain = domain.into();
        n.name = output.into();
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output.push(output.into());
        n
    }

    fn model(nodes: Vec<NodeProto>, scalar: &str, output: &str) -> Vec<u8> {
        let mut g = GraphProto::new();
        g.node = nodes;
        let mut t = TensorProto::new();
        t.name = scalar.into();
        t.dims = vec![];
        t.float_data = vec![3.0];
        g.initializer.push(t);
        let mut v = ValueInfoProto::new();
        v.name = output.into();
        g.output.push(v);
        let mut m = ModelProto::new();
        m.graph = Some(g).into();
        m.write_to_bytes().unwrap()
    }

    fn with_channels(mut n: NodeProto, c: i64) -> NodeProto {
        let mut a = AttributeProto::new();
        a.name = "channels".into();
        a.i = c;
        n.attribute.push(a);
        n
    }

    /// conv → (plain) LeakyRelu → Div by a scalar → conv: the two ops move into the blocked
    /// layout and the reorders between the convolutions go; the graph's output keeps its
    /// ReorderOutput.
    #[test]
    fn element_wise_ops_between_convolutions_stay_blocked() {
        let nodes = vec![
            node("Conv", NCHWC, &["xb", "w1"], "c1b"),
            with_channels(node("ReorderOutput", NCHWC, &["c1b"], "c1"), 64),
            node("LeakyRelu", "", &["c1"], "l"),
            node("Div", "", &["l", "three"], "d"),
            node("ReorderInput", NCHWC, &["d"], "db"),
            node("Conv", NCHWC, &["db", "w2"], "c2b"),
            with_channels(node("ReorderOutput", NCHWC, &["c2b"], "y"), 64),
        ];
        let b = keep_blocked(&model(nodes, "three", "y")).unwrap();
        assert_eq!((b.reorders_before, b.reorders_after), (3, 1));
        let g = ModelProto::parse_from_bytes(&b.model)
            .unwrap()
            .graph
            .unwrap();
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Conv", "LeakyRelu", "Div", "Conv", "ReorderOutput"]);
        assert_eq!(g.node[1].input, ["c1b"]);
        assert_eq!(g.node[2].input, ["l_blocked", "three"].map(String::from));
        assert_eq!(g.node[3].input, ["d_blocked", "w2"].map(String::from));
    }

    /// Channels that would leave a block part-filled, or an op with a plain tensor input
    /// that is not a scalar, are left alone: nothing to save is an error.
    #[test]
    fn a_graph_with_nothing_to_keep_blocked_is_refused() {
        let nodes = vec![
            node("Conv", NCHWC, &["xb", "w1"], "c1b"),
            with_channels(node("ReorderOutput", NCHWC, &["c1b"], "c1"), 40),
            node("LeakyRelu", "", &["c1"], "l"),
            node("Add", "", &["l", "plain"], "a"),
            node("ReorderInput", NCHWC, &["a"], "ab"),
            node("Conv", NCHWC, &["ab", "w2"], "c2b"),
            with_channels(node("ReorderOutput", NCHWC, &["c2b"], "y"), 64),
        ];
        let err = keep_blocked(&model(nodes, "three", "y")).unwrap_err();
        assert!(err.contains("no layout change"), "{err}");
        assert!(keep_blocked(b"not onnx").is_err());
    }
}
