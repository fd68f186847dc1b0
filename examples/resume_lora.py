"""Resume LoRA training of a text encoder and a UNet (seed bug 2: the resumed adapters are unused)."""

import argparse
import os

from diffusers import UNet2DConditionModel
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import CLIPTextModel

parser = argparse.ArgumentParser()
parser.add_argument("--model_path", default="./checkpoints")
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()

base_id = "runwayml/stable-diffusion-v1-5"
text_encoder = CLIPTextModel.from_pretrained(base_id, subfolder="text_encoder")
unet = UNet2DConditionModel.from_pretrained(base_id, subfolder="unet")
lora_config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj", "to_q", "to_v"])

model_path, resume = args.model_path, args.resume
text_encoder = get_peft_model(text_encoder, lora_config)
unet = get_peft_model(unet, lora_config)
if resume:
    text_encoder = PeftModel.from_pretrained(text_encoder, os.path.join(model_path, "text_encoder"))
    unet = PeftModel.from_pretrained(unet, os.path.join(model_path, "unet"))
