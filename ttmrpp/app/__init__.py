"""The Gradio app: plain services per tab, one small builder per tab, the launcher."""
