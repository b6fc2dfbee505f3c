// <consent-prompt> in React's JSX: its attributes and properties, typed from
// the package's declarations. Copy this file into a React + TypeScript app.
import type { ConsentPromptAttributes, ConsentPromptElement } from "@consent-prompt/widget";
import type { DetailedHTMLProps, HTMLAttributes } from "react";

declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      "consent-prompt": DetailedHTMLProps<HTMLAttributes<ConsentPromptElement>, ConsentPromptElement> & ConsentPromptAttributes;
    }
  }
}
