//! Rules edited in a page, kept: `save_rules` writes them to the `--rules` file the bridge was
//! started with, and a bridge started with that file has the same rules.

mod common;

use std::fs;
use std::path::Path;

use common::{start, Page};
use protocol::checksum::Checksum;
use protocol::framing::{Delimiter, Framing};
use protocol::rules::{ReplyBody, Rule, Scope, Trigger};
use protocol::text_encoding::TextEncoding;
use protocol::{Command, ConnSettings, Event, ProblemKind};

/// Rules with every field a page can set, and the texts a rules file must quote with care.
fn edited() -> Vec<Rule> {
    let mut every = Rule::new(
        "set",
        Trigger::Regex {
            pattern: r#"^SET (?<v>\d+) 'q' "d"$"#.into(),
        },
        ReplyBody::Text(r"OK ${v}\r\n".into()),
    );
    every.name = "Set a value".into();
    every.enabled = false;
    every.scope = Scope::Conn(12);
    every.encoding = TextEncoding::Gbk;
    every.delay_ms = 250;
    every.once = true;
    every.checksum = Some(Checksum::Lrc);
    vec![
        Rule::new("hello", Trigger::Connect, ReplyBody::Text("hi\\n".into())),
        every,
        Rule::new(
            "read",
            Trigger::Hex {
                pattern: "01 03 ?? *".into(),
            },
            ReplyBody::Hex("01 03 02 ${counter:u16}".into()),
        ),
    ]
}

async fn save(page: &mut Page, request: u64) -> Result<(String, u64), (ProblemKind, String)> {
    page.command(Command::SaveRules {
        request: Some(request),
    })
    .await;
    page.event("the answer to save_rules", |e| match e {
        Event::RulesSaved {
            file,
            rules,
            request: Some(r),
        } if *r == request => Some(Ok((file.clone(), *rules))),
        Event::Error(p) if p.request == Some(request) => Some(Err((p.kind, p.message.clone()))),
        _ => None,
    })
    .await
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

#[tokio::test]
async fn rules_saved_to_the_rules_file_are_those_a_bridge_started_with_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.toml");
    fs::write(
        &path,
        "[[rule]]\nid = 'old'\ntrigger = { on = 'any' }\nreply = { text = 'x' }\n",
    )
    .unwrap();
    let bridge = start(&["--rules", arg(&path)]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    // Its name, not where it is.
    assert_eq!(snapshot.server.rules_file.as_deref(), Some("device.toml"));

    page.command(Command::SetRules { rules: edited() }).await;
    page.event("the rules", |e| {
        matches!(e, Event::Rules { .. }).then_some(())
    })
    .await;
    let lines = Framing::Delimiter {
        delimiter: Delimiter::crlf(),
    };
    let settings = ConnSettings {
        framing: lines.clone(),
        checksum: None,
    };
    page.command(Command::Configure {
        conn: None,
        way: None,
        settings,
    })
    .await;
    page.event("the defaults", |e| {
        matches!(e, Event::Defaults { .. }).then_some(())
    })
    .await;
    assert_eq!(save(&mut page, 5).await, Ok(("device.toml".into(), 3)));
    // Written whole: nothing is left beside it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    bridge.shutdown().await;

    let again = start(&["--rules", arg(&path)]).await;
    let (_, snapshot) = Page::open(&again).await;
    assert_eq!(snapshot.server.rules, edited());
    assert_eq!(snapshot.server.defaults.framing, lines);
    again.shutdown().await;
}

#[tokio::test]
async fn a_bridge_without_a_rules_file_refuses_to_save_and_says_why() {
    let bridge = start(&[]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.rules_file, None);
    let (kind, message) = save(&mut page, 9).await.unwrap_err();
    assert_eq!(kind, ProblemKind::SaveFailed);
    assert!(message.contains("started without --rules"), "{message}");
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_rules_file_that_cannot_be_written_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.toml");
    let text = "# kept as it is\n";
    fs::write(&path, text).unwrap();
    let mut permissions = fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&path, permissions).unwrap();
    let bridge = start(&["--rules", arg(&path)]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (kind, message) = save(&mut page, 1).await.unwrap_err();
    assert_eq!(kind, ProblemKind::SaveFailed);
    assert!(
        message.starts_with("cannot save the rules to locked.toml: locked.toml is read-only"),
        "{message}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    bridge.shutdown().await;
}
