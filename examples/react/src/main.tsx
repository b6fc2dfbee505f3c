import { createRoot } from "react-dom/client";
import { Checkout } from "./Checkout";

const root = document.getElementById("root");
if (!root) throw new Error("no #root element");
createRoot(root).render(<Checkout />);
