import { createRoot } from "react-dom/client";
import { Checkout } from "./Checkout.jsx";

createRoot(document.getElementById("root")).render(<Checkout />);
