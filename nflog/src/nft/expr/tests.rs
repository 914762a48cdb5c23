use super::*;
use crate::wire::attr::Attributes;
use crate::wire::netlink::Messages;
use proptest::prelude::*;

/// The batch nft 1.0.6 sent for `fixtures/nft-1.0.6-batch.nft` (see fixtures/README.md).
static NFT_BATCH: &[u8] = include_bytes!("../fixtures/nft-1.0.6-batch.bin");

const NFT_MSG_NEWRULE: u16 = 10 << 8 | 6;
const NFTA_RULE_EXPRESSIONS: u16 = 4;

/// The value of `NFTA_RULE_EXPRESSIONS` of each NEWRULE in the recorded batch.
fn recorded_rules() -> Vec<&'static [u8]> {
    Messages::new(NFT_BATCH)
        .map(Result::unwrap)
        .filter(|m| m.message_type() == NFT_MSG_NEWRULE)
        .map(|m| {
            Attributes::new(&m.body()[4..])
                .map(Result::unwrap)
                .find(|a| a.kind() == NFTA_RULE_EXPRESSIONS)
                .unwrap()
                .value()
        })
        .collect()
}

fn meta(key: MetaKey) -> Expr {
    Expr::Meta {
        key,
        dreg: Register::R1,
    }
}

fn cmp(op: CmpOp, data: &[u8]) -> Expr {
    Expr::Cmp {
        sreg: Register::R1,
        op,
        data: data.to_vec(),
    }
}

fn payload(base: PayloadBase, offset: u32, len: u32) -> Expr {
    Expr::Payload {
        base,
        offset,
        len,
        dreg: Register::R1,
    }
}

/// What `nft --debug=netlink` printed for each rule of the recorded batch, as our types.
fn expected_rules() -> Vec<Vec<Expr>> {
    let mut lo = [0u8; 16];
    lo[..2].copy_from_slice(b"lo");
    vec![
        // udp dport 9999 log group 5
        vec![
            meta(MetaKey::L4Proto),
            cmp(CmpOp::Eq, &[17]),
            payload(PayloadBase::Transport, 2, 2),
            cmp(CmpOp::Eq, &9999u16.to_be_bytes()),
            Expr::Log {
                group: 5,
                prefix: None,
                snaplen: None,
                queue_threshold: None,
            },
        ],
        // meta l4proto tcp tcp dport 1000-2000 counter
        vec![
            meta(MetaKey::L4Proto),
            cmp(CmpOp::Eq, &[6]),
            payload(PayloadBase::Transport, 2, 2),
            cmp(CmpOp::Gte, &1000u16.to_be_bytes()),
            cmp(CmpOp::Lte, &2000u16.to_be_bytes()),
            Expr::Counter {
                packets: 0,
                bytes: 0,
            },
        ],
        // iifname "lo" meta mark 0x5 ip saddr 10.0.0.0/8 ct state established,new
        vec![
            meta(MetaKey::IifName),
            cmp(CmpOp::Eq, &lo),
            meta(MetaKey::Mark),
            cmp(CmpOp::Eq, &5u32.to_ne_bytes()),
            meta(MetaKey::NfProto),
            cmp(CmpOp::Eq, &[2]),
            payload(PayloadBase::Network, 12, 1),
            cmp(CmpOp::Eq, &[10]),
            Expr::Ct {
                key: CtKey::State,
                dreg: Register::R1,
                direction: None,
            },
            Expr::Bitwise {
                sreg: Register::R1,
                dreg: Register::R1,
                mask: (CtKey::STATE_ESTABLISHED | CtKey::STATE_NEW)
                    .to_ne_bytes()
                    .to_vec(),
                xor: 0u32.to_ne_bytes().to_vec(),
            },
            cmp(CmpOp::Neq, &0u32.to_ne_bytes()),
        ],
        // limit rate 100/second burst 5 packets log prefix "ssh" group 7 snaplen 64
        // queue-threshold 3
        vec![
            Expr::Limit {
                rate: 100,
                unit: LimitUnit::Second,
                burst: 5,
                kind: LimitType::Packets,
                invert: false,
            },
            Expr::Log {
                group: 7,
                prefix: Some("ssh".into()),
                snaplen: Some(64),
                queue_threshold: Some(3),
            },
        ],
        // tcp dport { 22, 80 }
        vec![
            meta(MetaKey::L4Proto),
            cmp(CmpOp::Eq, &[6]),
            payload(PayloadBase::Transport, 2, 2),
            Expr::Lookup {
                sreg: Register::R1,
                set: "__set%d".into(),
                set_id: Some(1),
                invert: false,
            },
        ],
        // meta nfproto ipv6 return
        vec![
            meta(MetaKey::NfProto),
            cmp(CmpOp::Eq, &[10]),
            Expr::Immediate {
                dreg: Register::VERDICT,
                data: Immediate::Verdict(Verdict::Return),
            },
        ],
    ]
}

// The recording was made on a little-endian machine: its host-order values (mark, ct
// state) are little-endian, and so are its attribute headers.
#[cfg(target_endian = "little")]
#[test]
fn expressions_are_byte_for_byte_what_nft_sends() {
    let recorded = recorded_rules();
    let expected = expected_rules();
    assert_eq!(recorded.len(), expected.len());
    for (i, (bytes, exprs)) in recorded.iter().zip(&expected).enumerate() {
        let mut ours = Vec::new();
        emit_list(exprs, &mut ours).unwrap();
        assert_eq!(&ours[..], *bytes, "rule {i}");
    }
}

#[cfg(target_endian = "little")]
#[test]
fn what_nft_sends_decodes_to_the_same_expressions() {
    for (bytes, exprs) in recorded_rules().iter().zip(expected_rules()) {
        assert_eq!(decode_list(bytes).unwrap(), exprs);
    }
}

#[test]
fn a_counter_read_back_keeps_its_counts_and_skips_padding() {
    // The kernel's dump: nla_put_be64 aligns with NFTA_COUNTER_PAD (3) where needed.
    let mut data = Vec::new();
    emit(&mut data, 3, &[]);
    emit(&mut data, nfta::COUNTER_BYTES, &1500u64.to_be_bytes());
    emit(&mut data, 3, &[]);
    emit(&mut data, nfta::COUNTER_PACKETS, &3u64.to_be_bytes());
    let mut elem = Vec::new();
    nla::emit_str(&mut elem, nfta::EXPR_NAME, "counter");
    let nest = nla::open(&mut elem, nfta::EXPR_DATA);
    elem.extend_from_slice(&data);
    assert!(nla::close(&mut elem, nest));
    assert_eq!(
        Expr::decode(&elem),
        Ok(Expr::Counter {
            packets: 3,
            bytes: 1500
        })
    );
}

#[test]
fn values_the_kernel_would_refuse_are_errors_and_emit_nothing() {
    let cases = [
        (
            cmp(CmpOp::Eq, &[]),
            ExprError::DataLength {
                expr: "cmp",
                len: 0,
            },
        ),
        (
            cmp(CmpOp::Eq, &[0; 65]),
            ExprError::DataLength {
                expr: "cmp",
                len: 65,
            },
        ),
        (
            Expr::Bitwise {
                sreg: Register::R1,
                dreg: Register::R1,
                mask: vec![0xff; 4],
                xor: vec![0; 2],
            },
            ExprError::LengthMismatch {
                expr: "bitwise",
                first: 4,
                second: 2,
            },
        ),
        (
            Expr::Log {
                group: 1,
                prefix: Some("x".repeat(128)),
                snaplen: None,
                queue_threshold: None,
            },
            ExprError::LogPrefix { len: 128 },
        ),
        (
            Expr::Immediate {
                dreg: Register::R1,
                data: Immediate::Verdict(Verdict::Accept),
            },
            ExprError::ImmediateRegister,
        ),
        (
            Expr::Lookup {
                sreg: Register::R1,
                set: String::new(),
                set_id: None,
                invert: false,
            },
            ExprError::Name {
                name: String::new(),
            },
        ),
    ];
    for (expr, error) in cases {
        let mut out = Vec::new();
        assert_eq!(expr.emit(&mut out), Err(error), "{expr:?}");
        assert!(out.is_empty());
    }
    assert_eq!(
        ExprError::LogPrefix { len: 128 }.to_string(),
        "log prefix of 128 bytes, or with a NUL (the kernel takes at most 127 bytes, no NUL)"
    );
}

#[test]
fn an_unknown_expression_is_named() {
    let mut elem = Vec::new();
    nla::emit_str(&mut elem, nfta::EXPR_NAME, "quota");
    assert_eq!(
        Expr::decode(&elem),
        Err(DecodeError::UnknownExpr {
            name: "quota".into()
        })
    );
}

fn register() -> impl Strategy<Value = Register> {
    prop_oneof![0u32..=4, 8u32..=23].prop_map(|n| Register::from_number(n).unwrap())
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..=MAX_DATA_LEN)
}

fn name() -> impl Strategy<Value = String> {
    "[a-z%_0-9]{1,20}"
}

fn expr() -> impl Strategy<Value = Expr> {
    let meta_keys: Vec<MetaKey> = (0..40).filter_map(MetaKey::from_number).collect();
    let ct_keys: Vec<CtKey> = (0..40).filter_map(CtKey::from_number).collect();
    let bases = [
        PayloadBase::Link,
        PayloadBase::Network,
        PayloadBase::Transport,
    ];
    let ops = [
        CmpOp::Eq,
        CmpOp::Neq,
        CmpOp::Lt,
        CmpOp::Lte,
        CmpOp::Gt,
        CmpOp::Gte,
    ];
    let units = [
        LimitUnit::Second,
        LimitUnit::Minute,
        LimitUnit::Hour,
        LimitUnit::Day,
        LimitUnit::Week,
    ];
    let verdicts = prop_oneof![
        Just(Verdict::Accept),
        Just(Verdict::Drop),
        Just(Verdict::Continue),
        Just(Verdict::Return),
        name().prop_map(Verdict::Jump),
        name().prop_map(Verdict::Goto),
    ];
    prop_oneof![
        (
            proptest::sample::select(bases.to_vec()),
            any::<u32>(),
            any::<u32>(),
            register()
        )
            .prop_map(|(base, offset, len, dreg)| Expr::Payload {
                base,
                offset,
                len,
                dreg
            }),
        (register(), proptest::sample::select(ops.to_vec()), data())
            .prop_map(|(sreg, op, data)| Expr::Cmp { sreg, op, data }),
        (register(), register(), data()).prop_flat_map(|(sreg, dreg, mask)| {
            proptest::collection::vec(any::<u8>(), mask.len()).prop_map(move |xor| Expr::Bitwise {
                sreg,
                dreg,
                mask: mask.clone(),
                xor,
            })
        }),
        (register(), any::<bool>(), data()).prop_flat_map(|(sreg, neq, from)| {
            proptest::collection::vec(any::<u8>(), from.len()).prop_map(move |to| Expr::Range {
                sreg,
                op: if neq { RangeOp::Neq } else { RangeOp::Eq },
                from: from.clone(),
                to,
            })
        }),
        (proptest::sample::select(meta_keys), register())
            .prop_map(|(key, dreg)| Expr::Meta { key, dreg }),
        (
            proptest::sample::select(ct_keys),
            register(),
            proptest::option::of(any::<bool>())
        )
            .prop_map(|(key, dreg, d)| Expr::Ct {
                key,
                dreg,
                direction: d.map(|r| if r {
                    CtDirection::Reply
                } else {
                    CtDirection::Original
                }),
            }),
        (
            register(),
            name(),
            proptest::option::of(any::<u32>()),
            any::<bool>()
        )
            .prop_map(|(sreg, set, set_id, invert)| Expr::Lookup {
                sreg,
                set,
                set_id,
                invert
            }),
        (
            any::<u64>(),
            proptest::sample::select(units.to_vec()),
            any::<u32>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(rate, unit, burst, bytes, invert)| Expr::Limit {
                rate,
                unit,
                burst,
                kind: if bytes {
                    LimitType::Bytes
                } else {
                    LimitType::Packets
                },
                invert,
            }),
        (any::<u64>(), any::<u64>()).prop_map(|(packets, bytes)| Expr::Counter { packets, bytes }),
        (
            any::<u16>(),
            proptest::option::of("[ -~]{0,127}"),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u16>())
        )
            .prop_map(|(group, prefix, snaplen, queue_threshold)| Expr::Log {
                group,
                prefix,
                snaplen,
                queue_threshold
            }),
        verdicts.prop_map(|v| Expr::Immediate {
            dreg: Register::VERDICT,
            data: Immediate::Verdict(v)
        }),
        (1u32..=4, data()).prop_map(|(r, v)| Expr::Immediate {
            dreg: Register::from_number(r).unwrap(),
            data: Immediate::Value(v)
        }),
    ]
}

proptest! {
    #[test]
    fn every_expression_round_trips(exprs in proptest::collection::vec(expr(), 0..8)) {
        let mut out = Vec::new();
        emit_list(&exprs, &mut out).unwrap();
        prop_assert_eq!(decode_list(&out).unwrap(), exprs);
    }

    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_list(&bytes);
    }
}
