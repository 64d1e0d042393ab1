<#-- Sign-in page. Same field names and ids as Keycloak's own login.ftl (username, password,
     credentialId, kc-form-login, kc-login), so flows and tests work unchanged. An error appears
     twice on purpose: in the summary at the top (a link to the field) and beside the field, which
     points at it with aria-describedby. Mirrored by the stand-in's templates/login.html. -->
<#import "template.ftl" as layout>
<#assign hasError = messagesPerField.existsError('username','password')>
<@layout.registrationLayout displayMessage=!hasError displayInfo=realm.password && realm.registrationAllowed && !registrationDisabled??; section>
    <#if section = "header">
        ${msg("loginAccountTitle")}
    <#elseif section = "form">
        <#if realm.password>
        <#assign firstField = (usernameHidden??)?then('password', 'username')>
        <#assign prefilled = (login.username!'')?has_content>
        <#if hasError>
        <div class="phoi-alert phoi-alert--error" id="phoi-error-summary" role="alert">
            <p class="phoi-alert__title">${msg("phoiErrorSummaryTitle")}</p>
            <ul>
                <li><a href="#${firstField}">${kcSanitize(messagesPerField.getFirstError('username','password'))?no_esc}</a></li>
            </ul>
        </div>
        </#if>
        <form id="kc-form-login" action="${url.loginAction}" method="post" novalidate>
            <#if !usernameHidden??>
            <div class="phoi-field<#if hasError> phoi-field--error</#if>">
                <label for="username"><#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if></label>
                <#if hasError><p class="phoi-field-error" id="input-error">${kcSanitize(messagesPerField.getFirstError('username','password'))?no_esc}</p></#if>
                <input id="username" name="username" type="text" value="${(login.username!'')}" autocomplete="username"
                       autocapitalize="none" spellcheck="false" required<#if !prefilled> autofocus</#if><#if hasError> aria-invalid="true" aria-describedby="input-error"</#if>>
            </div>
            </#if>
            <div class="phoi-field<#if hasError> phoi-field--error</#if>">
                <label for="password">${msg("password")}</label>
                <#if hasError && usernameHidden??><p class="phoi-field-error" id="input-error">${kcSanitize(messagesPerField.getFirstError('username','password'))?no_esc}</p></#if>
                <input id="password" name="password" type="password" autocomplete="current-password"
                       required<#if prefilled || usernameHidden??> autofocus</#if><#if hasError> aria-invalid="true" aria-describedby="input-error"</#if>>
            </div>
            <#if realm.rememberMe && !usernameHidden??>
            <div class="phoi-checkbox">
                <input type="checkbox" id="rememberMe" name="rememberMe"<#if login.rememberMe??> checked</#if>>
                <label for="rememberMe">${msg("rememberMe")}</label>
            </div>
            </#if>
            <#if realm.resetPasswordAllowed>
            <p class="phoi-form-options"><a href="${url.loginResetCredentialsUrl}">${msg("doForgotPassword")}</a></p>
            </#if>
            <input type="hidden" id="id-hidden-input" name="credentialId"<#if (auth.selectedCredential)?has_content> value="${auth.selectedCredential}"</#if>>
            <div class="phoi-actions">
                <button type="submit" id="kc-login" name="login">${msg("doLogIn")}</button>
            </div>
        </form>
        </#if>
    <#elseif section = "info">
        <#if realm.password && realm.registrationAllowed && !registrationDisabled??>
        <p id="kc-registration">${msg("noAccount")} <a href="${url.registrationUrl}">${msg("doRegister")}</a></p>
        </#if>
    </#if>
</@layout.registrationLayout>
