"""Texts of the stand-in's pages, in Vietnamese (default) and English."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "language_name": "Tiếng Việt",
        "app_title": "Hệ thống quản lý cấp phát phôi văn bằng, chứng chỉ",
        "standin_banner": (
            "Máy chủ xác thực giả lập (Keycloak stand-in) – chỉ dùng cho phát triển và kiểm thử, "
            "không dùng cho môi trường thật."
        ),
        "language": "Ngôn ngữ",
        "login_title": "Đăng nhập",
        "username": "Tên đăng nhập hoặc email",
        "password": "Mật khẩu",
        "sign_in": "Đăng nhập",
        "invalid_credentials": "Tên đăng nhập hoặc mật khẩu không đúng.",
        "account_disabled": "Tài khoản đã bị vô hiệu hoá. Vui lòng liên hệ quản trị viên.",
        "update_password_title": "Cập nhật mật khẩu",
        "update_password_info": "Bạn cần đổi mật khẩu để kích hoạt tài khoản.",
        "password_new": "Mật khẩu mới",
        "password_confirm": "Xác nhận mật khẩu mới",
        "logout_other_sessions": "Đăng xuất khỏi các thiết bị khác",
        "submit": "Lưu mật khẩu",
        "missing_password": "Vui lòng nhập mật khẩu mới.",
        "password_mismatch": "Mật khẩu xác nhận không khớp.",
        "policy_hint": "Mật khẩu cần có ít nhất {length} ký tự và không được trùng với tên đăng nhập.",
        "session_expired": (
            "Phiên đăng nhập đã hết hạn hoặc không còn hợp lệ. Vui lòng quay lại ứng dụng và đăng nhập lại."
        ),
        "error_title": "Rất tiếc, đã xảy ra lỗi",
        "client_not_found": "Không tìm thấy ứng dụng (client) yêu cầu đăng nhập.",
        "invalid_redirect_uri": "Tham số redirect_uri không hợp lệ.",
        "invalid_request": "Yêu cầu không hợp lệ.",
        "unsupported_action": "Máy chủ giả lập không hỗ trợ thao tác bắt buộc này: {action}.",
        "logout_title": "Đăng xuất",
        "logout_question": "Bạn có muốn đăng xuất không?",
        "logout_button": "Đăng xuất",
        "logged_out": "Bạn đã đăng xuất.",
        "invalid_id_token_hint": "Tham số id_token_hint không hợp lệ.",
        "missing_logout_client": ("Khi dùng post_logout_redirect_uri cần có tham số id_token_hint hoặc client_id."),
        "invalid_post_logout_redirect": "Địa chỉ chuyển hướng sau khi đăng xuất không hợp lệ.",
    },
    "en": {
        "language_name": "English",
        "app_title": "Diploma blank issuance management system",
        "standin_banner": "Keycloak stand-in – for development and tests only, not for production.",
        "language": "Language",
        "login_title": "Sign in to your account",
        "username": "Username or email",
        "password": "Password",
        "sign_in": "Sign in",
        "invalid_credentials": "Invalid username or password.",
        "account_disabled": "Account is disabled, contact your administrator.",
        "update_password_title": "Update password",
        "update_password_info": "You need to change your password to activate your account.",
        "password_new": "New password",
        "password_confirm": "Confirm new password",
        "logout_other_sessions": "Sign out from other devices",
        "submit": "Save password",
        "missing_password": "Please specify a new password.",
        "password_mismatch": "Passwords don't match.",
        "policy_hint": "The password must be at least {length} characters long and must not be your username.",
        "session_expired": (
            "Your login attempt timed out or is no longer valid. Go back to the application and sign in again."
        ),
        "error_title": "We are sorry…",
        "client_not_found": "Client not found.",
        "invalid_redirect_uri": "Invalid parameter: redirect_uri",
        "invalid_request": "Invalid request.",
        "unsupported_action": "The stand-in does not support this required action: {action}.",
        "logout_title": "Logging out",
        "logout_question": "Do you want to log out?",
        "logout_button": "Log out",
        "logged_out": "You are logged out.",
        "invalid_id_token_hint": "Invalid parameter: id_token_hint",
        "missing_logout_client": (
            "Either the parameter client_id or the parameter id_token_hint is required when "
            "post_logout_redirect_uri is used."
        ),
        "invalid_post_logout_redirect": "Invalid redirect uri",
    },
}
