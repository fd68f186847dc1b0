"""The corrected resume: load onto the fresh base on one branch, wrap on the other (no finding)."""

import os

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import CLIPTextModel

text_encoder = CLIPTextModel.from_pretrained("openai/clip-vit-large-patch14")
lora_config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"])
model_path, resume = "./checkpoints", True

if resume:
    text_encoder = PeftModel.from_pretrained(text_encoder, os.path.join(model_path, "text_encoder"), is_trainable=True)
else:
    text_encoder = get_peft_model(text_encoder, lora_config)
