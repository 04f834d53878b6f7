//! The bridge's web page. `main` only mounts [`components::app::App`]; the state and its rules
//! live in [`state`], the views in [`components`] and their work in [`hooks`], the byte helpers
//! in [`bytes_view`] and [`encoding`], a dial in [`dial`], the socket in [`ws`], which hands the
//! state what [`wire`] decodes.

mod bytes_view;
mod components;
mod dial;
mod encoding;
mod export;
mod hooks;
mod state;
mod wire;
mod ws;

fn main() {
    protocol::gb18030::set_source(encoding::browser_gb18030);
    yew::Renderer::<components::app::App>::new().render();
}
