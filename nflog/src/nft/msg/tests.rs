use super::*;
use crate::wire::attr::Attributes;
use crate::wire::netlink::{Message, Messages};

static NFT_BATCH: &[u8] = include_bytes!("../fixtures/nft-1.0.6-batch.bin");
static NFT_INTERVAL: &[u8] = include_bytes!("../fixtures/nft-1.0.6-interval.bin");

/// The bodies (after the netlink header) of the messages of `kind` in a recorded batch.
fn recorded(batch: &'static [u8], kind: MsgType) -> Vec<&'static [u8]> {
    Messages::new(batch)
        .map(Result::unwrap)
        .filter(|m| m.message_type() == kind.nlmsg_type())
        .map(|m| m.body())
        .collect()
}

/// The messages of `kind` in one of our batches.
fn ours(batch: &mut Batch, kind: MsgType) -> Vec<Vec<u8>> {
    Messages::new(batch.finish())
        .map(Result::unwrap)
        .filter(|m| m.message_type() == kind.nlmsg_type())
        .map(|m| m.body().to_vec())
        .collect()
}

/// A body without its `NFTA_SET_USERDATA` (13): nft's notes to itself on how to print the
/// set, which the kernel stores and never reads.
fn without_userdata(body: &[u8]) -> Vec<u8> {
    let mut out = body[..4].to_vec();
    for attr in Attributes::new(&body[4..]).map(Result::unwrap) {
        if attr.kind() != 13 {
            crate::wire::emit(&mut out, attr.raw_type(), attr.value());
        }
    }
    out
}

#[cfg(target_endian = "little")]
#[test]
fn table_and_chain_are_what_nft_sends() {
    let mut batch = Batch::new(0);
    batch
        .add_table(&Table {
            family: Family::Inet,
            name: "t".into(),
            flags: 0,
        })
        .unwrap();
    batch
        .add_chain(
            Family::Inet,
            &Chain {
                table: "t".into(),
                name: "c".into(),
                hook: Some(BaseHook {
                    hook: Hook::Input,
                    priority: 0,
                    device: None,
                }),
            },
        )
        .unwrap();
    assert_eq!(
        ours(&mut batch, MsgType::NewTable),
        recorded(NFT_BATCH, MsgType::NewTable)
    );
    assert_eq!(
        ours(&mut batch, MsgType::NewChain),
        recorded(NFT_BATCH, MsgType::NewChain)
    );
    // The batch's own begin and end are nft's too (nft numbers them 0 and 11).
    let bytes = batch.finish().to_vec();
    assert_eq!(&bytes[..20], &NFT_BATCH[..20]);
    let end = &NFT_BATCH[NFT_BATCH.len() - 20..];
    assert_eq!(&bytes[bytes.len() - 20..bytes.len() - 12], &end[..8]);
    assert_eq!(&bytes[bytes.len() - 4..], &end[16..]);
}

#[cfg(target_endian = "little")]
#[test]
fn anonymous_sets_are_what_nft_sends() {
    let ports = AnonymousSet {
        id: 1,
        key_type: 13,
        key_len: 2,
        elements: vec![
            SetElem::Value(22u16.to_be_bytes().to_vec()),
            SetElem::Value(80u16.to_be_bytes().to_vec()),
        ],
    };
    let mut batch = Batch::new(0);
    batch.add_set(Family::Inet, "t", &ports).unwrap();
    let set = ours(&mut batch, MsgType::NewSet);
    let nft_set: Vec<_> = recorded(NFT_BATCH, MsgType::NewSet)
        .into_iter()
        .map(without_userdata)
        .collect();
    assert_eq!(set, nft_set);
    assert_eq!(
        ours(&mut batch, MsgType::NewSetElem),
        recorded(NFT_BATCH, MsgType::NewSetElem)
    );

    // ip saddr { 10.0.0.0/8, 192.168.1.0/24 } in an ip table.
    let nets = AnonymousSet {
        id: 1,
        key_type: 7,
        key_len: 4,
        elements: vec![
            SetElem::Interval(vec![192, 168, 1, 0], vec![192, 168, 1, 255]),
            SetElem::Interval(vec![10, 0, 0, 0], vec![10, 255, 255, 255]),
        ],
    };
    let mut batch = Batch::new(0);
    batch.add_set(Family::Ipv4, "t", &nets).unwrap();
    let nft_set: Vec<_> = recorded(NFT_INTERVAL, MsgType::NewSet)
        .into_iter()
        .map(without_userdata)
        .collect();
    assert_eq!(ours(&mut batch, MsgType::NewSet), nft_set);
    assert_eq!(
        ours(&mut batch, MsgType::NewSetElem),
        recorded(NFT_INTERVAL, MsgType::NewSetElem)
    );
}

#[test]
fn intervals_merge_and_one_reaching_the_top_has_no_end() {
    let set = AnonymousSet {
        id: 3,
        key_type: 13,
        key_len: 2,
        elements: vec![
            SetElem::Interval(vec![0, 10], vec![0, 20]),
            SetElem::Value(vec![0, 21]),
            SetElem::Interval(vec![0xff, 0], vec![0xff, 0xff]),
            SetElem::Interval(vec![0, 0], vec![0, 1]),
        ],
    };
    assert_eq!(
        set.wire_elements(),
        vec![
            (vec![0, 0], false),
            (vec![0, 2], true),
            (vec![0, 10], false),
            (vec![0, 22], true),
            (vec![0xff, 0], false),
        ]
    );
}

#[test]
fn every_message_asks_for_an_ack_and_is_named() {
    let mut batch = Batch::new(7);
    let table = Table {
        family: Family::Inet,
        name: "nflog-1-2".into(),
        flags: NFT_TABLE_F_OWNER,
    };
    batch.add_table(&table).unwrap();
    batch
        .add_rule(
            Family::Inet,
            &Rule {
                table: table.name.clone(),
                chain: "input".into(),
                exprs: vec![Expr::Counter {
                    packets: 0,
                    bytes: 0,
                }],
            },
        )
        .unwrap();
    batch.delete_table(Family::Inet, "nflog-1-2").unwrap();
    let names: Vec<String> = batch.messages().iter().map(|m| m.to_string()).collect();
    assert_eq!(
        names,
        [
            "NEWTABLE inet nflog-1-2",
            "NEWRULE inet nflog-1-2 input rule 0",
            "DELTABLE inet nflog-1-2"
        ]
    );
    let sequences: Vec<u32> = batch.messages().iter().map(|m| m.sequence).collect();
    assert_eq!(sequences, [8, 9, 10]);
    let bytes = batch.finish().to_vec();
    let messages: Vec<Message> = Messages::new(&bytes).map(Result::unwrap).collect();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[0].message_type(), NFNL_MSG_BATCH_BEGIN);
    assert_eq!(messages[4].message_type(), NFNL_MSG_BATCH_END);
    assert_eq!(messages[4].sequence(), 11);
    for m in &messages[1..4] {
        assert_ne!(m.flags() & NLM_F_ACK, 0);
    }
    // Finishing twice gives the same datagram.
    assert_eq!(batch.finish(), &bytes[..]);
}

#[test]
fn a_refused_message_leaves_the_batch_as_it_was() {
    let mut batch = Batch::new(0);
    let before = batch.finish().to_vec();
    let rule = Rule {
        table: "t".into(),
        chain: "c".into(),
        exprs: vec![Expr::Cmp {
            sreg: crate::nft::Register::R1,
            op: crate::nft::CmpOp::Eq,
            data: vec![],
        }],
    };
    assert!(batch.add_rule(Family::Inet, &rule).is_err());
    assert!(batch
        .add_table(&Table {
            family: Family::Inet,
            name: String::new(),
            flags: 0
        })
        .is_err());
    assert!(batch.messages().is_empty());
    assert_eq!(batch.finish(), &before[..]);
    let netdev_input = Chain {
        table: "t".into(),
        name: "c".into(),
        hook: Some(BaseHook {
            hook: Hook::Input,
            priority: 0,
            device: Some("lo".into()),
        }),
    };
    assert!(batch.add_chain(Family::Netdev, &netdev_input).is_err());
}
